"""Build a tiny causal LM and a tokenizer trained on the given texts, entirely
locally (no model hub). For tests, benchmarks and trying the `transformers` backend
and `sft_train` on a machine with no model: the result loads like any model directory."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIAL = ["<pad>", "<s>", "</s>", "<unk>"]


def tokenizer_train(*, texts: Iterable[str], vocab_size: int = 800):
    """A byte-level BPE tokenizer trained on `texts` (Chinese and English alike)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    pad, bos, eos, unk = SPECIAL
    core = Tokenizer(models.BPE(unk_token=unk))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=pad,
        bos_token=bos,
        eos_token=eos,
        unk_token=unk,
        padding_side="left",
    )


def tiny_model_build(
    *,
    out: Path,
    texts: Iterable[str],
    layers: int = 2,
    hidden: int = 64,
    heads: int = 4,
    vocab_size: int = 800,
    seed: int = 0,
) -> Path:
    """Write a randomly initialised Llama-style model of `layers` x `hidden` and its
    tokenizer to `out`; returns `out`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    tokenizer = tokenizer_train(texts=texts, vocab_size=vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
