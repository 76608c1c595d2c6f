"""Memory and speed of MERL's text side: loading its BERT from a checkpoint and embedding the CKEPE prompts.

MERL's ``*_ckpt.pth`` holds its text encoder (MedCPT's query encoder, a
BERT-base of 110 M parameters) beside the small ECG encoder. This script
loads such a checkpoint with ``load_foundation_model`` (the ECG side only),
then embeds the 131 prompts of ``MERL_PROMPTS`` (which builds the BERT from
the checkpoint on first use), and prints one JSON line: resident memory
before and after each step, the peak, and the time of each. Random weights
serve as well as the released ones; a checkpoint with a BERT-base of random
weights and a configuration folder can be written with ``--make DIR``::

    OMP_NUM_THREADS=1 python benchmarks/bench_merl_text.py --make /tmp/merl-bert
    OMP_NUM_THREADS=1 python benchmarks/bench_merl_text.py merl-resnet18 \\
        /tmp/merl-bert/merl_resnet18_ckpt.pth --text-model /tmp/merl-bert/text_model
"""

import argparse
import json
import os
import time

from bench_foundation import _peak_mb, _rss_mb  # the script's folder is on sys.path


def make(folder):
    """MERL checkpoints (released ECG sizes) whose text model is a BERT-base of random weights."""
    import torch
    import transformers

    from sklearn_ecg.nn.merl import MERLNet

    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(0)
    config = transformers.BertConfig()  # BERT-base: the size of MedCPT's query encoder
    bert = transformers.BertModel(config)
    config.save_pretrained(os.path.join(folder, "text_model"))
    vocab = os.path.join(folder, "text_model", "vocab.txt")
    with open(vocab, "w", encoding="utf-8") as f:  # a letter-level vocabulary: any English text
        f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
                          + list("abcdefghijklmnopqrstuvwxyz0123456789.,;:-/()'%+")
                          + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]) + "\n")
    transformers.BertTokenizerFast(vocab_file=vocab).save_pretrained(os.path.join(folder, "text_model"))
    for encoder in ("resnet18", "vit_tiny"):
        state = MERLNet(encoder).state_dict()
        state.update({f"lm_model.{k}": v for k, v in bert.state_dict().items()})
        torch.save(state, os.path.join(folder, f"merl_{encoder}_ckpt.pth"))


def measure(name, checkpoint, text_model, batch_size):
    import torch

    from sklearn_ecg import load_foundation_model
    from sklearn_ecg.foundation import MERL_PROMPTS

    prompts = list(MERL_PROMPTS.values())
    start_rss, start = _rss_mb(), time.perf_counter()
    model = load_foundation_model(name, checkpoint, text_model=text_model, batch_size=batch_size)
    load_s, loaded_rss, loaded_peak = time.perf_counter() - start, _rss_mb(), _peak_mb()
    start, cpu = time.perf_counter(), time.process_time()
    model.encode_text(prompts[:1])
    first_s = time.perf_counter() - start
    built_rss = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    emb = model.encode_text(prompts)
    text_s, text_cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "model": name, "checkpoint_mb": round(os.path.getsize(checkpoint) / 2**20, 1),
        "threads": torch.get_num_threads(), "prompts": len(prompts), "embedding": list(emb.shape),
        "rss_before_load_mb": round(start_rss), "load_s": round(load_s, 2),
        "rss_after_load_mb": round(loaded_rss), "peak_rss_after_load_mb": round(loaded_peak),
        "first_text_s": round(first_s, 2), "rss_with_text_model_mb": round(built_rss),
        "text_s": round(text_s, 2), "texts_per_s": round(len(prompts) / text_s, 2),
        "texts_per_cpu_s": round(len(prompts) / text_cpu, 2), "peak_rss_mb": round(_peak_mb()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", help="merl-resnet18 or merl-vit-tiny")
    parser.add_argument("checkpoint", nargs="?", help="a MERL *_ckpt.pth")
    parser.add_argument("--text-model", help="folder of the BERT's configuration and tokenizer")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--make", metavar="DIR", help="write checkpoints with a BERT-base of random weights")
    args = parser.parse_args(argv)
    if args.make:
        make(args.make)
        return
    if not (args.name and args.checkpoint and args.text_model):
        parser.error("give a model name, a checkpoint and --text-model (or --make DIR)")
    print(json.dumps(measure(args.name, args.checkpoint, args.text_model, args.batch_size)))


if __name__ == "__main__":
    main()
