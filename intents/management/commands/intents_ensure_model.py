"""Make sure an intent model is active: load the project's examples into the
admin table when it is empty, and train and activate a model when none is
active. `make demo` runs this; it does nothing when a model is already active."""

from django.core.management.base import BaseCommand

from intents import services
from intents.models import IntentModelVersion, TrainingExample


class Command(BaseCommand):
    help = "Load the intent examples and train + activate a model if none is active."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="train a new version anyway")

    def handle(self, *args, force: bool = False, **options) -> None:
        if not TrainingExample.objects.exists():
            loaded = services.examples_seed()
            self.stdout.write(f"Loaded {loaded} intent examples.")
        active = IntentModelVersion.objects.filter(is_active=True).first()
        if active is not None and not force:
            self.stdout.write(f"Intent model {active.version} is active.")
            return
        self.stdout.write("Training the intent model (a minute or two on 2 cores)...")
        version = services.intent_model_train(note="intents_ensure_model", activate=True)
        heldout = version.metrics.get("heldout") or {}
        self.stdout.write(
            f"Intent model {version.version} trained and active: threshold "
            f"{version.threshold:.3f}, held-out in-scope accuracy "
            f"{heldout.get('in_scope_accuracy')}, oos recall {heldout.get('oos_recall')}."
        )
