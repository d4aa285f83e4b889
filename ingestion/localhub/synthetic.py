"""Deterministic synthetic Hugging Face ecosystem, calibrated to the paper's 1.86M-model snapshot.

Emits records in the format of `../shared/hub_fixtures/`: one JSON object per line,
`{"model": <item as GET /api/models?expand=... returns it>, "readme": <README.md text or null>}`.

How it works:
- Models are created in time order. About 30% derive from earlier models (finetune, adapter,
  quantized, merge, in the paper's proportions); parents are drawn by preferential attachment,
  which gives heavy-tailed family sizes and a few very deep chains.
- Children inherit traits with mutation. Every parent carries one "sibling template" (a drifted
  license, language set, card style and name suffix drawn from a seed of its own), and most of
  its children copy it: siblings resemble each other more than their parent. The template drifts
  in the paper's directions: restrictive licenses toward apache-2.0/mit, many languages toward
  English only, cards shorter and more often "generated automatically".
- The real Hub's messes are sprinkled in at small rates (see `MESS_RATES`).

Memory: per model a few compact integers (about 40 bytes), never the records: 2M models stream
to disk in well under 200 MB of resident memory.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import queue
import random
import re
import threading
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

RELATIONS = ("finetune", "adapter", "quantized", "merge")
# Edge counts per relation in the paper's 1.86M-model snapshot (merges: about 40.3k edges,
# from about 17.5k merge models with 2.3 parents each).
RELATION_WEIGHTS = (189_391, 241_417, 101_921, 15_500)
MERGE_PARENTS = (2, 2, 2, 3, 3, 4)  # mean 2.33
SHARE_WITH_PARENT = 0.295  # models with at least one base model, out of all models
UNIFORM_PARENT_SHARE = 0.3  # the rest of the parents are drawn by preferential attachment
# Preferential attachment looks at the most recent edges only (this share of all models): base
# models are "hot" for a while, so several families grow large and none takes over.
ATTACHMENT_WINDOW_SHARE = 0.012

# Share of all models carrying each license tag (paper section 4.4); the rest carry none.
LICENSES = (
    ("apache-2.0", 16.04),
    ("mit", 5.9),
    ("other", 4.4),
    ("openrail", 2.02),
    ("creativeml-openrail-m", 1.57),
    ("cc-by-nc-4.0", 0.77),
    ("llama2", 0.55),
    ("llama3", 0.53),
    ("gemma", 0.47),
    ("unknown", 0.45),
    ("llama3.1", 0.41),
    ("cc-by-4.0", 0.36),
    ("openrail++", 0.35),
    ("llama3.2", 0.32),
    ("cc-by-nc-sa-4.0", 0.21),
    ("afl-3.0", 0.2),
    ("cc-by-sa-4.0", 0.16),
    ("gpl-3.0", 0.15),
    ("artistic-2.0", 0.1),
    ("llama3.3", 0.1),
    ("cc", 0.1),
    ("bigscience-bloom-rail-1.0", 0.1),
)
LICENSED_SHARE = sum(weight for _, weight in LICENSES) / 100
RESTRICTIVE_LICENSES = frozenset(
    name
    for name, _ in LICENSES
    if name.startswith(("llama", "gemma", "cc-by-nc", "openrail", "creativeml", "bigscience"))
)
PERMISSIVE_DRIFT = (("apache-2.0", 0.72), ("mit", 0.28))

# Languages: 13.9% of models carry any; shares of those models (paper section 4.4), then a tail.
LANGUAGED_SHARE = 0.125  # roots; children drift toward English and add some
LANGUAGES = (
    ("en", 85.56),
    ("zh", 4.99),
    ("fr", 4.54),
    ("es", 4.14),
    ("de", 4.07),
    ("ja", 3.47),
    ("ko", 3.27),
    ("it", 3.23),
    ("pt", 3.2),
    ("ru", 2.55),
    ("ar", 2.2),
    ("hi", 1.9),
    ("nl", 1.8),
    ("pl", 1.6),
    ("tr", 1.5),
    ("vi", 1.4),
    ("id", 1.3),
    ("sv", 1.1),
    ("fa", 1.0),
    ("uk", 1.0),
    ("cs", 0.9),
    ("fi", 0.8),
    ("th", 0.8),
    ("he", 0.7),
    ("ro", 0.7),
    ("el", 0.6),
    ("hu", 0.6),
    ("da", 0.6),
    ("bn", 0.5),
    ("sw", 0.5),
    ("ta", 0.4),
    ("ur", 0.4),
)
LANGUAGE_CODES = tuple(code for code, _ in LANGUAGES)
# Of the roots with languages, the share with many at once (always with en): base models are
# often multilingual, their descendants rarely (paper section 4.7: 6.6 -> 1.8 languages).
MULTILINGUAL_SHARE = 0.25
ENGLISH_ONLY_SHARE = 0.82  # of the models with one language

# Shares of the models that have a pipeline_tag / library_name (paper section 4.4).
TASKED_SHARE = 0.6
TASKS = (
    ("text-generation", 41.07),
    ("text-classification", 13.62),
    ("text-to-image", 11.4),
    ("reinforcement-learning", 8.66),
    ("automatic-speech-recognition", 3.49),
    ("token-classification", 3.23),
    ("image-classification", 2.59),
    ("fill-mask", 2.1),
    ("feature-extraction", 2.01),
    ("question-answering", 1.79),
    ("sentence-similarity", 1.5),
    ("image-text-to-text", 1.4),
    ("translation", 1.2),
    ("summarization", 1.0),
    ("text-to-speech", 0.9),
    ("object-detection", 0.8),
)
LIBRARIED_SHARE = 0.65
LIBRARIES = (
    ("transformers", 63.17),
    ("peft", 19.92),
    ("diffusers", 8.31),
    ("stable-baselines3", 2.14),
    ("sentence-transformers", 1.32),
    ("ml-agents", 1.08),
    ("tf-keras", 0.34),
    ("adapter-transformers", 0.33),
    ("keras", 0.26),
    ("mlx", 0.26),
    ("timm", 0.25),
    ("gguf", 0.2),
)
DATASETS = (
    "imagefolder",
    "glue",
    "generator",
    "squad",
    "emotion",
    "imagenet-1k",
    "mozilla-foundation/common_voice_11_0",
    "common_voice_7_0",
    "imdb",
    "wikipedia",
)
ARCHITECTURES = ("llama", "mistral", "qwen2", "gemma", "bert", "roberta", "gpt2", "t5", "phi")
STEMS = (
    "Lumen", "Orca", "Vega", "Nimbus", "Atlas", "Quill", "Zephyr", "Nova", "Ember", "Falcon",
    "Marlin", "Sable", "Aster", "Cobalt", "Drift", "Fable", "Garnet", "Helix", "Iris", "Juniper",
    "Kestrel", "Lyra", "Mosaic", "Nectar", "Onyx", "Pixel", "Quartz", "Raven", "Sage", "Tundra",
    "Umber", "Vireo", "Willow", "Xenon", "Yarrow", "Zinnia", "Basil", "Cinder", "Dune", "Echo",
)  # fmt: skip
SIZES = ("0.5B", "1.8B", "2B", "3B", "7B", "8B", "13B", "70B", "base", "large", "small", "v1")
SUFFIXES = {
    "finetune": ("instruct", "chat", "sft", "dpo", "ft", "imdb", "squad", "medical", "v2", "it"),
    "adapter": ("lora", "qlora", "adapter", "peft", "lora-r16", "dreambooth"),
    "quantized": ("GGUF", "AWQ", "GPTQ", "4bit", "8bit", "Q4_K_M", "exl2", "mlx-4bit"),
    "merge": ("merge", "slerp", "ties", "dare", "passthrough", "frankenmerge"),
}
# How often each relation's child gets the HF Trainer's template card (paper section 4.7).
AUTO_CARD_SHARE = {None: 0.04, "finetune": 0.5, "adapter": 0.29, "quantized": 0.005, "merge": 0.0}
# Multiplier on the parent's card length, per relation (paper section 4.7).
CARD_SHRINK = {
    "finetune": (0.2, 0.8),
    "adapter": (0.25, 0.85),
    "quantized": (0.4, 1.0),
    "merge": (0.35, 0.95),
}
# Chance that a child reduces a multilingual parent to English only, per relation.
ENGLISH_DRIFT = {"finetune": 0.9, "adapter": 0.75, "quantized": 0.1, "merge": 0.1}
ROOT_CARD_SHARE = 0.53  # children almost always have a card; overall about 67%
# Bulk uploads (paper 4.3: three families grew by 20-30k models within a month): a few times
# per ecosystem one uploader derives a run of models from one base model.
BULK_RUNS = 6  # expected runs per ecosystem, whatever its size
BULK_SIZE_SHARE = (0.003, 0.009)  # models per run, as a share of all models
BULK_TAKE = 0.6  # during a run, chance a derived model belongs to it
AUTO_PARENT_REJECTION = 0.9  # chance a drawn parent with a template card is drawn again
TEMPLATE_FIDELITY = 0.85  # chance a child copies its parent's sibling template, trait by trait
PRIVATE_SHARE = 0.0  # the snapshot as an anonymous listing sees it; tests add private repos
GATED_SHARE = 0.03
# Messes per derived model (per model for `unknown_relation_tags`).
MESS_RATES = {
    "self_parent": 0.004,
    "cycle": 0.002,
    "missing_parent": 0.01,
    "multi_parent_not_merge": 0.01,
    "duplicate_base_model": 0.006,
    "malformed_tags": 0.006,
    "untyped_only": 0.002,
    "odd_card_base_model": 0.006,
}
AUTO_TEMPLATE = (
    "<!-- This model card has been generated automatically according to the information "
    "the Trainer had access to. You should probably proofread and complete it, then remove "
    "this comment. -->\n\n# {name}\n\nThis model is a fine-tuned version of [{parent}]"
    "(https://huggingface.co/{parent}) on {dataset}.\nIt achieves the following results on the "
    "evaluation set:\n- Loss: {loss}\n\n## Model description\n\nMore information needed\n\n"
    "## Intended uses & limitations\n\nMore information needed\n\n## Training and evaluation "
    "data\n\nMore information needed\n\n## Training procedure\n\n### Training hyperparameters\n\n"
    "The following hyperparameters were used during training:\n- learning_rate: {lr}\n"
    "- train_batch_size: {batch}\n- seed: 42\n- optimizer: Adam with betas=(0.9,0.999) and "
    "epsilon=1e-08\n- num_epochs: {epochs}\n\n### Framework versions\n\n- Transformers 4.{tv}.0\n"
    "- Pytorch 2.{pv}.0\n- Datasets 2.{dv}.0\n- Tokenizers 0.{kv}.1\n"
)
EPOCH = datetime(2022, 3, 1, tzinfo=UTC)
SNAPSHOT_TIME = datetime(2025, 7, 13, tzinfo=UTC)
GROWTH = 2.6  # models per day grow about e^2.6 = 13x over the span, as on the Hub


def hub_time(moment: datetime) -> str:
    """Format a UTC datetime the way the Hub does: `2025-01-29T08:29:22.000Z`."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_hub_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def stable_hex(*parts: object, length: int = 40) -> str:
    """A deterministic hex digest of the parts (shas, object ids)."""
    text = ":".join(str(p) for p in parts)
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def object_id(moment: datetime, *parts: object) -> str:
    """A Mongo-style `_id`: creation time in seconds, then 16 hex digits of hash."""
    return f"{int(moment.timestamp()):08x}" + stable_hex(*parts, length=16)


def _cumulative(table) -> tuple[list, list[float]]:
    values, weights = zip(*table, strict=True)
    total, cumulative = 0.0, []
    for weight in weights:
        total += weight
        cumulative.append(total)
    return list(values), cumulative


_LICENSE_TABLE = _cumulative(LICENSES)
_OTHER_LANGUAGE_TABLE = _cumulative(LANGUAGES[1:])
_TASK_TABLE = _cumulative(TASKS)
_LIBRARY_TABLE = _cumulative(LIBRARIES)
_RELATION_TABLE = _cumulative(zip(RELATIONS, RELATION_WEIGHTS, strict=True))
_PERMISSIVE_TABLE = _cumulative(PERMISSIVE_DRIFT)


def _pick(rng: random.Random, table: tuple[list, list[float]]):
    values, cumulative = table
    return rng.choices(values, cum_weights=cumulative)[0]


class Traits(NamedTuple):
    """The heritable part of a model."""

    license: str | None
    languages: tuple[str, ...]
    task: str | None
    library: str | None
    card_len: int  # 0: no README
    auto_card: bool


def root_traits(rng: random.Random) -> Traits:
    """Traits of a model without a parent, drawn from the ecosystem's marginal distributions."""
    license = _pick(rng, _LICENSE_TABLE) if rng.random() < LICENSED_SHARE else None
    languages: tuple[str, ...] = ()
    if rng.random() < LANGUAGED_SHARE:
        if rng.random() < MULTILINGUAL_SHARE:
            count = min(len(LANGUAGE_CODES) - 1, int(rng.paretovariate(0.7)) + 2)
            languages = tuple(sorted(("en", *rng.sample(LANGUAGE_CODES[1:], count))))
        else:
            english_only = rng.random() < ENGLISH_ONLY_SHARE
            languages = ("en",) if english_only else (_pick(rng, _OTHER_LANGUAGE_TABLE),)
    task = _pick(rng, _TASK_TABLE) if rng.random() < TASKED_SHARE else None
    library = _pick(rng, _LIBRARY_TABLE) if rng.random() < LIBRARIED_SHARE else None
    if library == "peft":  # peft models are adapters; a root gets the base library instead
        library = "transformers"
    card_len = 0
    if rng.random() < ROOT_CARD_SHARE:
        card_len = max(200, min(60_000, int(rng.lognormvariate(math.log(5200), 0.85))))
    return Traits(license, languages, task, library, card_len, rng.random() < AUTO_CARD_SHARE[None])


def draw_relation(rng: random.Random) -> str:
    """A relation to a parent, in the paper's proportions."""
    return _pick(rng, _RELATION_TABLE)


def permissive_license(rng: random.Random) -> str:
    """apache-2.0 or mit, in their proportion among drifts."""
    return _pick(rng, _PERMISSIVE_TABLE)


def drift_license(license: str | None, rng: random.Random) -> str | None:
    """One generation's license drift: restrictive ones toward apache-2.0/mit."""
    if license is None:
        return permissive_license(rng) if rng.random() < 0.08 else None
    if license in RESTRICTIVE_LICENSES:
        return permissive_license(rng) if rng.random() < 0.3 else license
    if license in ("apache-2.0", "mit"):
        return license if rng.random() < 0.97 else permissive_license(rng)
    return permissive_license(rng) if rng.random() < 0.18 else license


def _drift_languages(
    languages: tuple[str, ...], relation: str, rng: random.Random
) -> tuple[str, ...]:
    if len(languages) > 1 and rng.random() < ENGLISH_DRIFT[relation]:
        return ("en",)
    if len(languages) > 2 and rng.random() < 0.3:
        return tuple(sorted(rng.sample(languages, max(1, len(languages) // 3))))
    if not languages and rng.random() < 0.04:
        return ("en",)
    return languages


def sibling_template(parent: Traits, relation: str, key: int) -> tuple[Traits, int]:
    """The drifted traits most children of one parent share, and their name-suffix index."""
    rng = random.Random(key)
    low, high = CARD_SHRINK[relation]
    card_len = int(parent.card_len * rng.uniform(low, high)) if parent.card_len else 0
    template = Traits(
        drift_license(parent.license, rng),
        _drift_languages(parent.languages, relation, rng),
        parent.task if rng.random() < 0.9 else _pick(rng, _TASK_TABLE),
        parent.library,
        card_len,
        rng.random() < AUTO_CARD_SHARE[relation],
    )
    return template, rng.randrange(1 << 16)


def inherit(parent: Traits, relation: str, template_key: int, rng: random.Random) -> Traits:
    """A child's traits: each one its parent's sibling template's, or else its own mutation."""
    template, _ = sibling_template(parent, relation, template_key)
    own, _ = sibling_template(parent, relation, rng.getrandbits(62))

    def choose(shared, individual):
        return shared if rng.random() < TEMPLATE_FIDELITY else individual

    if relation == "adapter":
        library = "peft"
    elif relation == "quantized":
        library = parent.library if rng.random() < 0.6 else "gguf"
    else:
        library = parent.library if parent.library != "peft" else "transformers"
    base_len = choose(template.card_len, own.card_len)
    if base_len:
        card_len = max(200, int(base_len * rng.uniform(0.9, 1.1)))
    else:  # a parent without a card: its children still nearly always write one
        card_len = max(200, int(rng.lognormvariate(math.log(3000), 0.6)))
    if rng.random() < 0.004:
        card_len = 0
    return Traits(
        choose(template.license, own.license),
        choose(template.languages, own.languages),
        choose(template.task, own.task),
        library,
        card_len,
        choose(template.auto_card, own.auto_card),
    )


def template_key(seed: int, parent_index: int) -> int:
    """The seed of one parent's sibling template (no `hash()`: it is salted per process)."""
    return ((seed + 1) * 1_000_003 + parent_index) * 2_654_435_761 % (1 << 61)


# A pool of card paragraphs, fixed for every seed: card "styles" pick sequences from it.
def _paragraph_pool() -> list[str]:
    rng = random.Random(20250813)
    words = (
        "model", "training", "data", "evaluation", "license", "usage", "results", "benchmark",
        "accuracy", "loss", "tokens", "dataset", "fine-tuned", "base", "parameters", "context",
        "window", "instruction", "chat", "safety", "bias", "limitations", "intended", "use",
        "downstream", "tasks", "hardware", "gpu", "hours", "carbon", "emissions", "precision",
        "recall", "f1", "score", "validation", "split", "epochs", "learning", "rate", "optimizer",
        "batch", "quantization", "adapter", "merge", "weights", "checkpoint", "inference",
        "prompt", "template", "language", "english", "multilingual", "architecture", "attention",
    )  # fmt: skip
    pool = []
    for _ in range(64):
        sentences = []
        for _ in range(rng.randint(3, 7)):
            sentence = " ".join(rng.choice(words) for _ in range(rng.randint(8, 18)))
            sentences.append(sentence[0].upper() + sentence[1:] + ".")
        pool.append(" ".join(sentences))
    return pool


PARAGRAPHS = _paragraph_pool()
HEADINGS = ("Model description", "Intended uses", "Training data", "Evaluation", "Limitations")
_PLAIN_YAML = re.compile(r"[A-Za-z][A-Za-z0-9._/+-]*")
_YAML_WORDS = frozenset(("yes", "no", "true", "false", "null", "on", "off", "y", "n", "~"))


def _yaml_scalar(value) -> str:
    if isinstance(value, str) and _PLAIN_YAML.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value)  # JSON is YAML flow syntax: strings, numbers, lists, mappings


def card_header(card_data: dict) -> str:
    """The README's YAML front matter for a cardData dict (block lists, flow for odd values)."""
    lines = ["---"]
    for key, value in card_data.items():
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            lines.append(f"{key}:")
            lines.extend(f"- {_yaml_scalar(v)}" for v in value)
        else:
            lines.append(f"{key}: {_yaml_scalar(value)}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def card_body(name: str, style: int, length: int) -> str:
    """A bespoke-looking card body of about `length` characters; one style per sibling group."""
    parts = [f"# {name}\n"]
    size = len(parts[0])
    count = len(PARAGRAPHS)
    start, step = style % count, 1 + (style // count) % 7
    k = 0
    while size < length:
        if k % 3 == 0:
            heading = f"\n## {HEADINGS[(style + k) % len(HEADINGS)]}\n"
            parts.append(heading)
            size += len(heading)
        paragraph = "\n" + PARAGRAPHS[(start + k * step) % count] + "\n"
        parts.append(paragraph)
        size += len(paragraph)
        k += 1
    return "".join(parts)


def auto_card_body(name: str, parent: str, rng: random.Random) -> str:
    dataset = f"the {rng.choice(DATASETS)} dataset" if rng.random() < 0.5 else "an unknown dataset"
    return AUTO_TEMPLATE.format(
        name=name,
        parent=parent,
        dataset=dataset,
        loss=f"{rng.uniform(0.05, 2.5):.4f}",
        lr=rng.choice(("2e-05", "5e-05", "0.0002", "1e-04")),
        batch=rng.choice((8, 16, 32)),
        epochs=rng.randint(1, 5),
        tv=rng.randint(20, 47),
        pv=rng.randint(0, 5),
        dv=rng.randint(10, 20),
        kv=rng.randint(13, 21),
    )


def license_tags(license: str | None) -> list[str]:
    return [f"license:{license}"] if license else []


class Lineage(NamedTuple):
    """How a new model names its base models: tags and the `cardData.base_model` value."""

    relation: str | None
    parents: list[str]  # lineage parents, in order
    tags: list[str]
    card_base_model: object  # str, list, or an odd value; None when absent
    messes: tuple[str, ...]


def lineage_for(
    relation: str | None,
    parents: list[str],
    model_id: str,
    rng: random.Random,
    mess_rates: dict[str, float] = MESS_RATES,
) -> Lineage:
    """Lineage tags and cardData for the given parents, with the Hub's messes at their rates."""
    if relation is None:
        return Lineage(None, [], [], None, ())
    parents = list(parents)
    messes: list[str] = []
    typed = relation
    roll = rng.random
    if roll() < mess_rates["self_parent"]:
        parents = [model_id]
        messes.append("self_parent")
    if roll() < mess_rates["missing_parent"]:
        parents[0] = f"{parents[0].split('/')[0]}/{parents[0].split('/')[-1]}-deleted"
        messes.append("missing_parent")
    if relation in ("finetune", "adapter") and roll() < mess_rates["multi_parent_not_merge"]:
        parents.append(f"{parents[0]}-v2")
        messes.append("multi_parent_not_merge")
    tags = []
    for parent in parents:
        tags.append(f"base_model:{parent}")
        if roll() < mess_rates["untyped_only"]:
            messes.append("untyped_only")
        else:
            tags.append(f"base_model:{typed}:{parent}")
    if roll() < mess_rates["malformed_tags"]:
        tags.append(
            rng.choice(
                (
                    "base_model:",
                    f"base_model:{typed}:",
                    f"base_model:{typed.capitalize()}:{parents[0]}",
                    f"base_model:{typed}:https://huggingface.co/{parents[0]}",
                    f"base_model:{parents[0].split('/')[-1]}",
                    f"base_model:distilled:{parents[0]}",
                    f"base_model:{typed}:{parents[0]} ",
                    "license:",
                )
            )
        )
        messes.append("malformed_tags")
    card: object = parents[0] if len(parents) == 1 and roll() < 0.65 else list(parents)
    if roll() < mess_rates["duplicate_base_model"]:
        card = [*parents, parents[0]]
        messes.append("duplicate_base_model")
    if roll() < mess_rates["odd_card_base_model"]:
        card = rng.choice(({"name": parents[0]}, 7, True, [parents, None], ""))
        messes.append("odd_card_base_model")
    return Lineage(relation, parents, tags, card, tuple(messes))


def build_record(
    *,
    seed: int,
    index: int,
    model_id: str,
    traits: Traits,
    lineage: Lineage,
    created: datetime,
    modified: datetime,
    style: int,
    rng: random.Random,
    private: bool = False,
    gated: bool | str = False,
) -> dict:
    """One `{"model", "readme"}` record, fields as the Hub's list API returns them."""
    author, name = model_id.split("/", 1)
    license, languages, task, library, card_len, auto = traits
    architecture = ARCHITECTURES[index % len(ARCHITECTURES)] if library == "transformers" else None
    datasets = [DATASETS[style % len(DATASETS)]] if style % 5 == 0 else []
    tags: list[str] = []
    if library:
        tags.append(library)
    if library in ("transformers", "diffusers", "peft", "sentence-transformers"):
        tags.append("safetensors")
    if lineage.relation == "quantized":
        tags.append("gguf")
    if lineage.relation == "merge":
        tags += ["mergekit", "merge"]
    if architecture:
        tags.append(architecture)
    if task:
        tags.append(task)
    if auto:
        tags.append("generated_from_trainer")
    tags += languages
    tags += [f"dataset:{d}" for d in datasets]
    tags += lineage.tags
    tags += license_tags(license)
    if library == "transformers":
        tags.append("endpoints_compatible")
    tags.append("region:us")

    readme = None
    card_data: dict | None = None
    if card_len:
        card_data = {}
        if license:
            card_data["license"] = license
        if languages:
            card_data["language"] = list(languages)
        if library:
            card_data["library_name"] = library
        if task:
            card_data["pipeline_tag"] = task
        if lineage.card_base_model is not None:
            card_data["base_model"] = lineage.card_base_model
        if datasets:
            card_data["datasets"] = datasets
        if auto:
            card_data["tags"] = ["generated_from_trainer"]
        parent = lineage.parents[0] if lineage.parents else model_id
        body = auto_card_body(name, parent, rng) if auto else card_body(model_id, style, card_len)
        readme = card_header(card_data) + "\n" + body if card_data else body
        card_data = card_data or None  # a card without a YAML header has no cardData
    siblings = [{"rfilename": ".gitattributes"}]
    if readme is not None:
        siblings.append({"rfilename": "README.md"})
    config = None
    safetensors = None
    if architecture:
        siblings += [{"rfilename": "config.json"}, {"rfilename": "model.safetensors"}]
        config = {
            "architectures": [f"{architecture.capitalize()}Model"],
            "model_type": architecture,
        }
        parameters = 10 ** (7 + (index % 4)) + index
        safetensors = {"parameters": {"BF16": parameters}, "total": parameters}
    elif library == "peft":
        siblings += [
            {"rfilename": "adapter_config.json"},
            {"rfilename": "adapter_model.safetensors"},
        ]
    downloads = int(rng.paretovariate(0.9)) - 1
    return {
        "model": {
            "_id": object_id(created, seed, "oid", index),
            "id": model_id,
            "modelId": model_id,
            "author": author,
            "sha": stable_hex(seed, "sha", index, modified),
            "createdAt": hub_time(created),
            "lastModified": hub_time(modified),
            "private": private,
            "gated": gated,
            "disabled": False,
            "downloads": min(downloads, 50_000_000),
            "likes": min(int(rng.paretovariate(1.3)) - 1, 20_000),
            "trendingScore": int(rng.paretovariate(2.5)) - 1,
            "library_name": library,
            "pipeline_tag": task,
            "tags": tags,
            "cardData": card_data,
            "config": config,
            "safetensors": safetensors,
            "siblings": siblings,
            "usedStorage": (safetensors["total"] * 2 if safetensors else 0) + len(readme or ""),
        },
        "readme": readme,
    }


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def model_name(stem: str, relation: str | None, suffix_index: int, index: int) -> str:
    """`Stem-size` for roots, `Stem-suffix` for children; a base-36 tail keeps names unique."""
    if relation is None:
        return f"{stem}-{SIZES[suffix_index % len(SIZES)]}-{_b36(index)}"
    suffixes = SUFFIXES[relation]
    return f"{stem}-{suffixes[suffix_index % len(suffixes)]}-{_b36(index)}"


def family_stem(family: int, seed: int) -> str:
    return STEMS[(family * 2654435761 + seed) % len(STEMS)] + ("" if family % 3 else "X")


def author_name(number: int) -> str:
    return f"user{number:05d}" if number % 4 else f"org{number:05d}"


class _Genome:
    """Compact per-model state the generator needs to derive later models from earlier ones."""

    def __init__(self) -> None:
        self.license = array("B")
        self.languages = array("Q")
        self.task = array("B")
        self.library = array("B")
        self.card_len = array("I")
        self.auto = array("B")
        self.family = array("I")
        self.depth = array("B")
        self.author = array("I")
        self.relation = array("B")
        self.suffix = array("H")
        self.recent_parents = array("I")  # ring buffer of the latest edges' parents
        self.edge_count = 0

    def attach(self, parents: list[int], window: int) -> None:
        for parent in parents:
            if len(self.recent_parents) < window:
                self.recent_parents.append(parent)
            else:
                self.recent_parents[self.edge_count % window] = parent
            self.edge_count += 1

    _licenses = [None, *(name for name, _ in LICENSES)]
    _tasks = [None, *(name for name, _ in TASKS)]
    _libraries = [None, *(name for name, _ in LIBRARIES)]
    _relations = [None, *RELATIONS]

    def append(
        self, traits: Traits, family: int, depth: int, author: int, relation, suffix: int
    ) -> None:
        self.license.append(self._licenses.index(traits.license))
        mask = 0
        for code in traits.languages:
            mask |= 1 << LANGUAGE_CODES.index(code)
        self.languages.append(mask)
        self.task.append(self._tasks.index(traits.task))
        self.library.append(self._libraries.index(traits.library))
        self.card_len.append(traits.card_len)
        self.auto.append(traits.auto_card)
        self.family.append(family)
        self.depth.append(min(depth, 255))
        self.author.append(author)
        self.relation.append(self._relations.index(relation))
        self.suffix.append(suffix)

    def traits(self, index: int) -> Traits:
        mask = self.languages[index]
        languages = tuple(code for bit, code in enumerate(LANGUAGE_CODES) if mask >> bit & 1)
        return Traits(
            self._licenses[self.license[index]],
            languages,
            self._tasks[self.task[index]],
            self._libraries[self.library[index]],
            self.card_len[index],
            bool(self.auto[index]),
        )

    def model_id(self, index: int, seed: int) -> str:
        relation = self._relations[self.relation[index]]
        stem = family_stem(self.family[index], seed)
        name = model_name(stem, relation, self.suffix[index], index)
        return f"{author_name(self.author[index])}/{name}"


def creation_time(index: int, n_models: int, rng: random.Random) -> datetime:
    """Creation times between EPOCH and SNAPSHOT_TIME, models per day growing exponentially."""
    fraction = math.log1p((math.exp(GROWTH) - 1) * index / max(n_models, 1)) / GROWTH
    span = (SNAPSHOT_TIME - EPOCH).total_seconds() - 86_400
    return EPOCH + timedelta(seconds=span * fraction + rng.random() * 3600)


def modification_time(created: datetime, rng: random.Random) -> datetime:
    delay = timedelta(minutes=rng.expovariate(1 / 90))
    if rng.random() < 0.2:
        delay += timedelta(days=rng.expovariate(1 / 60))
    return min(created + delay, SNAPSHOT_TIME)


def generate(n_models: int, seed: int = 0, messes: bool = True) -> Iterator[dict]:
    """Yield `n_models` records `{"model": ..., "readme": ...}` in creation order.

    `messes=False` leaves out the Hub's messes (`MESS_RATES`): every lineage tag well formed.
    """
    rng = random.Random(seed)
    mess_rates = MESS_RATES if messes else dict.fromkeys(MESS_RATES, 0.0)
    genome = _Genome()
    n_authors = max(20, n_models // 6)
    window = max(200, int(n_models * ATTACHMENT_WINDOW_SHARE))
    pending: deque[dict] = deque()  # recent records, still editable (for cycles)
    recent = genome.recent_parents
    bulk_parent, bulk_left, bulk_author = -1, 0, 0
    for index in range(n_models):
        created = creation_time(index, n_models, rng)
        author = int(n_authors ** rng.random()) - 1  # log-uniform: a few prolific authors
        relation = None
        parents: list[int] = []
        if bulk_left == 0 and index > 100 and rng.random() < BULK_RUNS / n_models:
            bulk_parent = genome.family[rng.randrange(index)]  # a base model, picked blindly
            bulk_left = max(1, int(n_models * rng.uniform(*BULK_SIZE_SHARE)))
            bulk_author = rng.randrange(n_authors)
        derived = index > 0 and rng.random() < SHARE_WITH_PARENT
        if derived and bulk_left and rng.random() < BULK_TAKE:
            relation = "finetune" if rng.random() < 0.7 else "adapter"
            parents = [bulk_parent]
            bulk_left -= 1
        elif derived:
            relation = draw_relation(rng)
            wanted = rng.choice(MERGE_PARENTS) if relation == "merge" else 1
            for _ in range(wanted * 6):
                if len(parents) == wanted:
                    break
                if recent and rng.random() >= UNIFORM_PARENT_SHARE:
                    candidate = recent[rng.randrange(len(recent))]
                else:
                    candidate = rng.randrange(index)
                if genome.auto[candidate] and rng.random() < AUTO_PARENT_REJECTION:
                    continue  # Trainer-template models are leaves far more often than bases
                if candidate not in parents:
                    parents.append(candidate)
        if parents:
            first = parents[0]
            key = template_key(seed, first)
            parent_traits = genome.traits(first)
            traits = inherit(parent_traits, relation, key, rng)
            _, suffix = sibling_template(parent_traits, relation, key)
            if first == bulk_parent and bulk_left:
                author = bulk_author
            elif rng.random() < 0.5:  # siblings often share an uploader
                author = key % n_authors
            family, depth = genome.family[first], genome.depth[first] + 1
            style = key & 0xFFFFFF
        else:
            traits = root_traits(rng)
            suffix = rng.randrange(1 << 16)
            family, depth, style = index, 0, rng.randrange(1 << 24)
        genome.append(traits, family, depth, author, relation, suffix)
        genome.attach(parents, window)
        model_id = genome.model_id(index, seed)
        parent_ids = [genome.model_id(p, seed) for p in parents]
        lineage = lineage_for(relation, parent_ids, model_id, rng, mess_rates)
        roll = rng.random()
        gated: bool | str = False
        if not parents and PRIVATE_SHARE <= roll < PRIVATE_SHARE + GATED_SHARE:
            gated = "manual" if rng.random() < 0.3 else "auto"
        record = build_record(
            seed=seed,
            index=index,
            model_id=model_id,
            traits=traits,
            lineage=lineage,
            created=created,
            modified=modification_time(created, rng),
            style=style,
            rng=rng,
            private=roll < PRIVATE_SHARE,
            gated=gated,
        )
        if parents and len(pending) > 1 and rng.random() < mess_rates["cycle"]:
            _close_cycle(pending[rng.randrange(len(pending) - 1)], model_id, record)
        pending.append(record)
        if len(pending) > 512:
            yield pending.popleft()
    yield from pending


def _close_cycle(earlier: dict, later_id: str, later: dict) -> None:
    """Make `later` a finetune of `earlier` and `earlier` a finetune of `later`: a 2-cycle."""
    earlier_id = earlier["model"]["id"]
    for record, parent in ((earlier, later_id), (later, earlier_id)):
        tags = record["model"]["tags"]
        extra = [f"base_model:{parent}", f"base_model:finetune:{parent}"]
        record["model"]["tags"] = [t for t in tags if t not in extra] + extra
        card = record["model"].get("cardData")
        if card is not None and record["readme"] is not None:
            existing = card.get("base_model")
            card["base_model"] = [*(existing if isinstance(existing, list) else []), parent]
            record["readme"] = with_card_header(record["readme"], card)


def with_card_header(readme: str, card_data: dict) -> str:
    """The README with its YAML header replaced by (or, without one, given) `card_data`'s."""
    body = readme
    if readme.startswith("---\n"):
        end = readme.find("\n---", 4)
        if end != -1:
            body = readme[end + 4 :].lstrip("\n")
    return card_header(card_data) + "\n" + body


def write_jsonl(records: Iterable[dict], path: Path, compresslevel: int = 1) -> int:
    """Stream records to a (gzipped, if the name ends in .gz) JSONL file; return the count.

    Compression runs in a second thread (zlib releases the GIL), overlapping generation.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    encode = json.JSONEncoder(separators=(",", ":")).encode
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
    if path.suffix == ".gz":  # mtime=0: the same seed gives the same bytes
        sink = gzip.GzipFile(path, "wb", compresslevel=compresslevel, mtime=0)
    else:
        sink = open(path, "wb")  # noqa: SIM115 - closed by the writer thread
    failure: list[BaseException] = []

    def drain() -> None:
        try:
            with sink:
                while (chunk := chunks.get()) is not None:
                    sink.write(chunk)
        except BaseException as error:  # handed back to the producer below
            failure.append(error)
            while chunks.get() is not None:
                pass

    writer = threading.Thread(target=drain, name="jsonl-writer", daemon=True)
    writer.start()
    count = 0
    buffer: list[str] = []
    try:
        for record in records:
            buffer.append(encode(record))
            count += 1
            if len(buffer) == 256:
                chunks.put(("\n".join(buffer) + "\n").encode("utf-8"))
                buffer.clear()
        if buffer:
            chunks.put(("\n".join(buffer) + "\n").encode("utf-8"))
    finally:
        chunks.put(None)
        writer.join()
    if failure:
        raise failure[0]
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clean", action="store_true", help="leave out the Hub's messes")
    parser.add_argument("--out", type=Path, required=True, help="JSONL, gzipped if it ends in .gz")
    args = parser.parse_args(argv)
    count = write_jsonl(generate(args.models, args.seed, messes=not args.clean), args.out)
    print(f"wrote {count} models to {args.out}")


if __name__ == "__main__":
    main()
