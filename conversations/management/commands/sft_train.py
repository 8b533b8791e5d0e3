"""sft_train --data FILE --base PATH --out PATH: supervised fine-tuning of a causal LM."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from conversations.llm.sft import SftDataError, sft_train


class Command(BaseCommand):
    help = (
        'Fine-tune a causal LM on [{"prompt", "response"}] rows (loss on response tokens '
        "only) and save a model directory the transformers backend loads. Prints one JSON line."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data", required=True, type=Path, help="JSON file of rows")
        parser.add_argument("--base", required=True, type=Path, help="base model directory")
        parser.add_argument("--out", required=True, type=Path, help="where to save the result")
        parser.add_argument("--epochs", type=int, default=3)
        parser.add_argument("--lr", type=float, default=5e-4)
        parser.add_argument("--batch-size", type=int, default=8)
        parser.add_argument("--max-length", type=int, default=512)
        parser.add_argument("--max-steps", type=int, default=None)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **opts) -> None:
        for name in ("epochs", "batch_size", "max_length"):
            if opts[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
        if opts["max_steps"] is not None and opts["max_steps"] < 1:
            raise CommandError("--max-steps must be at least 1")
        if opts["out"].resolve() == opts["base"].resolve():
            raise CommandError("--out must differ from --base (the base model is kept)")
        try:
            result = sft_train(
                data=opts["data"],
                base=opts["base"],
                out=opts["out"],
                epochs=opts["epochs"],
                learning_rate=opts["lr"],
                batch_size=opts["batch_size"],
                max_length=opts["max_length"],
                max_steps=opts["max_steps"],
                seed=opts["seed"],
                progress=lambda line: self.stderr.write(line),
            )
        except SftDataError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
