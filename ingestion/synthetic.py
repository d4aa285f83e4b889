"""Deterministic synthetic Hugging Face ecosystem.

Emits records in the format of `../shared/hub_fixtures/`: one JSON object per line,
`{"model": <item as GET /api/models?expand=... returns it>, "readme": <README.md text or null>}`.

Children inherit their parent's traits with mutation, so the paper's effects can emerge:
licenses drift toward permissive ones, languages toward English, cards get shorter and
more templated down the tree.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

RELATIONS = ("finetune", "adapter", "quantized", "merge")
# Edge counts per relation in the paper's 1.86M-model snapshot.
RELATION_WEIGHTS = (189_391, 241_417, 101_921, 40_300)
SHARE_WITH_PARENT = 0.31  # 573,653 edges over 1.86M models

LICENSES = (
    ("apache-2.0", 16.0),
    ("mit", 5.9),
    ("other", 4.4),
    ("openrail", 2.0),
    ("creativeml-openrail-m", 1.6),
    ("cc-by-nc-4.0", 0.8),
    ("llama2", 0.55),
    ("llama3", 0.53),
    ("gemma", 0.47),
    ("llama3.1", 0.41),
    ("cc-by-4.0", 0.36),
    ("openrail++", 0.35),
    ("cc-by-sa-4.0", 0.16),
    ("gpl-3.0", 0.15),
)
PERMISSIVE_DRIFT = ("apache-2.0", "mit")
LANGUAGES = ("en", "zh", "fr", "es", "de", "ja", "ko", "it", "pt", "ru", "ar", "hi", "nl", "pl")
TASKS = (
    ("text-generation", 41.0),
    ("text-classification", 13.6),
    ("text-to-image", 11.4),
    ("reinforcement-learning", 8.7),
    ("automatic-speech-recognition", 3.5),
    ("token-classification", 3.2),
    ("image-classification", 2.6),
    ("fill-mask", 2.1),
    ("feature-extraction", 2.0),
    ("question-answering", 1.8),
)
LIBRARIES = (
    ("transformers", 63.0),
    ("peft", 20.0),
    ("diffusers", 8.3),
    ("stable-baselines3", 2.1),
    ("sentence-transformers", 1.3),
    ("ml-agents", 1.1),
    ("keras", 0.3),
    ("mlx", 0.3),
)
AUTHORS = tuple(f"org{i:03d}" for i in range(200))
AUTO_TEMPLATE = (
    "<!-- This model card has been generated automatically according to the information "
    "the Trainer had access to. You should probably proofread and complete it, then remove "
    "this comment. -->\n\n# {name}\n\nThis model is a fine-tuned version of [{parent}]"
    "(https://huggingface.co/{parent}) on an unknown dataset.\n\n## Training procedure\n\n"
    "More information needed\n"
)
EPOCH = datetime(2022, 3, 1, tzinfo=UTC)


def hub_time(moment: datetime) -> str:
    """Format a datetime the way the Hub does: `2025-01-29T08:29:22.000Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _hex(seed: int, *parts: object, length: int = 40) -> str:
    text = ":".join(str(p) for p in (seed, *parts))
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


class _Node:
    __slots__ = ("index", "model_id", "license", "languages", "task", "library", "card_len")

    def __init__(self, index, model_id, license, languages, task, library, card_len):
        self.index = index
        self.model_id = model_id
        self.license = license
        self.languages = languages
        self.task = task
        self.library = library
        self.card_len = card_len


def _root_traits(rng: random.Random) -> tuple[str, list[str], str, str, int]:
    n_langs = 1 if rng.random() < 0.7 else rng.randint(2, 10)
    languages = sorted(set(["en", *rng.sample(LANGUAGES, n_langs)]))[:n_langs] if n_langs else []
    return (
        _weighted(rng, LICENSES),
        languages,
        _weighted(rng, TASKS),
        _weighted(rng, LIBRARIES),
        rng.randint(3_000, 15_000),
    )


def _mutate(rng: random.Random, parent: _Node, relation: str):
    license = parent.license
    if rng.random() < 0.2:
        license = rng.choice(PERMISSIVE_DRIFT)
    languages = list(parent.languages)
    if len(languages) > 1 and rng.random() < 0.6:
        languages = ["en"]
    task = parent.task if rng.random() < 0.85 else _weighted(rng, TASKS)
    library = "peft" if relation == "adapter" else parent.library
    card_len = max(200, int(parent.card_len * rng.uniform(0.3, 0.9)))
    return license, languages, task, library, card_len


def _card(rng: random.Random, model_id: str, parent_ids: list[str], traits, auto: bool) -> str:
    license, languages, task, library, card_len = traits
    header = ["---", f"license: {license}", f"library_name: {library}", f"pipeline_tag: {task}"]
    if languages:
        header += ["language:", *[f"- {lang}" for lang in languages]]
    if parent_ids:
        header += ["base_model:", *[f"- {p}" for p in parent_ids]]
    header.append("---")
    if auto and parent_ids:
        body = AUTO_TEMPLATE.format(name=model_id.split("/")[1], parent=parent_ids[0])
    else:
        words = (
            "model",
            "training",
            "data",
            "evaluation",
            "license",
            "usage",
            "results",
            task,
            library,
            *languages,
        )
        body = f"# {model_id}\n\n"
        while len(body) < card_len:
            body += " ".join(rng.choice(words) for _ in range(12)) + ".\n"
    return "\n".join(header) + "\n" + body


def generate(n_models: int, seed: int = 0) -> Iterator[dict]:
    """Yield `n_models` records `{"model": ..., "readme": ...}` in creation order."""
    rng = random.Random(seed)
    nodes: list[_Node] = []
    attach: list[int] = []  # preferential attachment: one entry per node plus one per child
    span = timedelta(days=1200)
    for index in range(n_models):
        author = rng.choice(AUTHORS)
        model_id = f"{author}/model-{index:07d}"
        created = (
            EPOCH + span * (index / max(n_models, 1)) + timedelta(seconds=rng.randint(0, 3600))
        )
        relation = None
        parents: list[_Node] = []
        if nodes and rng.random() < SHARE_WITH_PARENT:
            relation = rng.choices(RELATIONS, weights=RELATION_WEIGHTS)[0]
            n_parents = 2 if relation == "merge" and len(nodes) > 1 else 1
            while len(parents) < n_parents:
                candidate = nodes[rng.choice(attach)]
                if candidate not in parents:
                    parents.append(candidate)
        traits = _mutate(rng, parents[0], relation) if parents else _root_traits(rng)
        license, languages, task, library, _ = traits
        parent_ids = [p.model_id for p in parents]
        tags = [library, task, *languages, f"license:{license}", "region:us"]
        for parent_id in parent_ids:
            tags += [f"base_model:{parent_id}", f"base_model:{relation}:{parent_id}"]
        auto = bool(parents) and rng.random() < (0.5 if relation == "finetune" else 0.25)
        readme = None if rng.random() < 0.05 else _card(rng, model_id, parent_ids, traits, auto)
        card_data = {"license": license, "library_name": library, "pipeline_tag": task}
        if languages:
            card_data["language"] = languages
        if parent_ids:
            card_data["base_model"] = parent_ids[0] if len(parent_ids) == 1 else parent_ids
        modified = created + timedelta(hours=rng.randint(0, 72))
        model = {
            "_id": _hex(seed, "oid", index, length=24),
            "id": model_id,
            "modelId": model_id,
            "author": author,
            "sha": _hex(seed, "sha", index),
            "createdAt": hub_time(created),
            "lastModified": hub_time(modified),
            "private": False,
            "gated": False,
            "disabled": False,
            "downloads": int(rng.paretovariate(1.2)) - 1,
            "likes": int(rng.paretovariate(1.5)) - 1,
            "library_name": library,
            "pipeline_tag": task,
            "tags": tags,
            "cardData": card_data if readme is not None else None,
            "config": None,
            "safetensors": None,
        }
        nodes.append(_Node(index, model_id, *traits))
        attach.append(index)
        attach.extend(parent.index for parent in parents)
        yield {"model": model, "readme": readme}


def write_jsonl(records: Iterator[dict], path: Path) -> int:
    """Stream records to a (gzipped, if the name ends in .gz) JSONL file; return the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    count = 0
    with opener(path, "wt", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    count = write_jsonl(generate(args.models, args.seed), args.out)
    print(f"wrote {count} models to {args.out}")


if __name__ == "__main__":
    main()
