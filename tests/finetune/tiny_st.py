"""A tiny, randomly initialised sentence-transformers model (1 BERT layer, width 32) with the
packaged MiniLM tokenizer: the real save / load / LoRA code paths in well under a second a run.
Made up for tests; its only job is to be trainable fast, not to be good."""

from __future__ import annotations

import shutil
from pathlib import Path

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def build_tiny_st(root: Path, *, width: int = 32, seed: int = 0) -> Path:
    """Write the model to ``root / "st"`` and return that folder."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel

    from shelfwise.encode.sentence import packaged_model_path

    torch.manual_seed(seed)
    hf = root / "hf"
    cfg = BertConfig(
        vocab_size=30522,
        hidden_size=width,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * width,
        max_position_embeddings=64,
    )
    BertModel(cfg).save_pretrained(hf)
    src = packaged_model_path()
    for name in TOKENIZER_FILES:
        shutil.copy(src / name, hf / name)
    modules = [models.Transformer(str(hf), max_seq_length=32), models.Pooling(width, "mean"), models.Normalize()]
    st = SentenceTransformer(modules=modules, device="cpu")
    out = root / "st"
    st.save(str(out))
    return out
