"""REFERENCE VALUES, NOT RESULTS: the paper's headline numbers, for side-by-side comparison.

Taken from ../shared/reference/paper-notes.md section 4 (printed notebook outputs and saved
figures of bendlaufer/ai-ecosystem; "~" marks values read by eye from a figure). The report
puts each next to the value this warehouse measures; nothing here feeds a computation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperNumber:
    key: str
    label: str
    value: float | str
    source: str
    caveat: str = ""


SNAPSHOT = "paper: 1.86M-model snapshot of Jul 2025"
SIMILARITY = "finetune graph, n=5000/config (aug4 figures, read by eye)"
ORDERINGS = "finetune graph (fd6432d); our languages are ISO codes"

PAPER_NUMBERS: tuple[PaperNumber, ...] = (
    PaperNumber("models", "Models (nodes)", 1_860_411, "4.1", SNAPSHOT),
    PaperNumber(
        "edges",
        "Edges (paper's rule: base_model tags, parent in snapshot)",
        573_653,
        "4.1",
        SNAPSHOT,
    ),
    PaperNumber("edges_finetune", "Finetune edges (paper's rule)", 189_391, "4.1", SNAPSHOT),
    PaperNumber("edges_adapter", "Adapter edges (paper's rule)", 241_417, "4.1", SNAPSHOT),
    PaperNumber("edges_quantized", "Quantized edges (paper's rule)", 101_921, "4.1", SNAPSHOT),
    PaperNumber("card_share", "Share of models with a card", 0.6704, "4.1"),
    PaperNumber("nodes_card_eligible", "Nodes eligible for card similarity", 618_531, "4.1"),
    PaperNumber("sim_meta_tfidf_random", "Metadata TF-IDF, random pair", 0.12, "4.5", SIMILARITY),
    PaperNumber(
        "sim_meta_tfidf_duo", "Metadata TF-IDF, parent-child (duo)", 0.64, "4.5", SIMILARITY
    ),
    PaperNumber("sim_meta_tfidf_trio1_pc", "Metadata TF-IDF, trio_1 parent-child", 0.66, "4.5"),
    PaperNumber("sim_meta_tfidf_trio1_sib", "Metadata TF-IDF, trio_1 siblings", 0.84, "4.5"),
    PaperNumber("sim_meta_lev_trio1_sib", "Metadata Levenshtein, trio_1 siblings", 0.75, "4.5"),
    PaperNumber("sim_card_tfidf_random", "Card TF-IDF, random pair", 0.13, "4.5", SIMILARITY),
    PaperNumber("sim_card_tfidf_duo", "Card TF-IDF, parent-child (duo)", 0.47, "4.5", SIMILARITY),
    PaperNumber("sim_card_tfidf_trio1_sib", "Card TF-IDF, trio_1 siblings", 0.89, "4.5"),
    PaperNumber("mutation_languages", "Mutation rate, languages", 0.2419, "4.6", ORDERINGS),
    PaperNumber("mutation_licenses", "Mutation rate, licenses", 0.1976, "4.6", ORDERINGS),
    PaperNumber("mutation_tasks", "Mutation rate, tasks", 0.4106, "4.6", ORDERINGS),
    PaperNumber("licenses_compatible", "Licenses top 20: compatible edges", 0.934, "4.6"),
    PaperNumber("licenses_accounted", "Licenses top 20: mutations accounted", 0.846, "4.6"),
    PaperNumber("languages_compatible", "Languages top 20: compatible edges", 0.984, "4.6"),
    PaperNumber("languages_accounted", "Languages top 20: mutations accounted", 0.750, "4.6"),
    PaperNumber("languages_sink", "Language ordering ends in", "en (English)", "4.6", ORDERINGS),
    PaperNumber("tasks_accounted", "Tasks top 10: mutations accounted", 0.982, "4.6"),
    PaperNumber("libraries_accounted", "Libraries top 10: mutations accounted", 0.837, "4.6"),
    PaperNumber(
        "top_license_flow", "Thickest license arrow", "llama3 -> apache-2.0", "4.6", ORDERINGS
    ),
    PaperNumber("card_len_parent", "Card length, parent (chars)", 9_773, "4.7", "full graph"),
    PaperNumber("card_len_child", "Card length, child (chars)", 4_402, "4.7", "full graph"),
    PaperNumber("auto_delta", "P(child auto-generated) - P(parent)", 0.2532, "4.7", "full graph"),
    PaperNumber("langs_parent", "Languages per model, parent", 6.60, "4.7", "both report >= 1"),
    PaperNumber("langs_child", "Languages per model, child", 1.81, "4.7", "both report >= 1"),
)

# Section 4.5 (aug4 figures, finetune graph, n=5000 per configuration; read by eye, +-0.02):
# (configuration, config_index) -> {(text, metric): mean}. None: hidden behind the legend.
_SIMILARITY_ROWS = {
    ("rando", 1): ((0.12, 0.44, 0.44), (0.13, 0.19, 0.19)),
    ("duo", 1): ((0.64, 0.70, 0.55), (0.47, 0.49, 0.25)),
    ("trio_1", 1): ((0.66, 0.70, 0.54), (0.49, 0.50, 0.23)),
    ("trio_1", 2): ((0.84, 0.86, 0.75), (0.89, 0.88, 0.73)),
    ("trio_2", 1): ((0.58, 0.66, 0.55), (0.41, 0.43, 0.22)),
    ("trio_2", 2): ((0.75, 0.78, 0.64), (0.58, 0.59, 0.30)),
    ("trio_2", 3): ((0.81, 0.85, 0.72), (0.68, 0.70, 0.46)),
    ("quad_0", 1): ((0.66, 0.70, 0.55), (0.47, 0.50, 0.22)),
    ("quad_0", 2): ((0.84, 0.85, 0.75), (0.92, 0.89, 0.75)),
    ("quad_1", 1): ((0.62, 0.70, 0.54), (0.41, 0.42, 0.18)),
    ("quad_1", 2): ((0.80, 0.81, 0.62), (0.66, 0.62, 0.22)),
    ("quad_1", 3): ((0.84, 0.86, 0.73), (0.65, 0.69, 0.47)),
    ("quad_1", 4): ((0.87, 0.88, 0.74), (0.89, 0.89, 0.72)),
    ("quad_2", 1): ((0.52, 0.64, 0.53), (0.35, 0.38, 0.17)),
    ("quad_2", 2): ((0.59, 0.70, 0.59), (0.48, 0.52, 0.29)),
    ("quad_2", 3): ((0.70, 0.77, 0.64), (0.55, 0.55, 0.25)),
    ("quad_2", 4): ((0.82, 0.85, 0.68), (0.61, 0.64, 0.39)),
    ("quad_2", 5): ((0.78, 0.80, 0.64), (0.56, 0.57, 0.27)),
    ("quad_3", 1): ((0.59, 0.68, 0.60), (0.38, 0.41, 0.25)),
    ("quad_3", 2): ((0.69, 0.75, 0.65), (0.47, 0.49, None)),
    ("quad_3", 3): ((0.74, 0.81, 0.70), (0.55, 0.57, None)),
    ("quad_3", 4): ((0.80, 0.83, 0.70), (0.55, 0.57, None)),
    ("quad_3", 5): ((0.86, 0.90, 0.81), (0.70, 0.70, 0.46)),
    ("quad_3", 6): ((0.86, 0.89, 0.77), (0.76, 0.77, 0.56)),
}
PAPER_SIMILARITY: dict[tuple[str, int, str, str], float | None] = {
    (configuration, index, text, metric): value
    for (configuration, index), rows in _SIMILARITY_ROWS.items()
    for text, values in zip(("metadata_paper", "card"), rows, strict=True)
    for metric, value in zip(("tfidf", "bow", "levenshtein"), values, strict=True)
}

# Section 4.4 (summary figure, commit 3622371): panel -> [(value, count or None, % or None)].
PAPER_TOP_VALUES: dict[str, list[tuple[str, int | None, float | None]]] = {
    "licenses": [
        ("apache-2.0", 298_442, 16.04),
        ("mit", 109_820, 5.9),
        ("other", 81_887, 4.4),
        ("openrail", 37_498, 2.02),
        ("creativeml-openrail-m", 29_233, 1.57),
        ("cc-by-nc-4.0", 14_315, 0.77),
        ("llama2", 10_294, 0.55),
        ("llama3", 9_887, 0.53),
        ("gemma", 8_677, 0.47),
        ("unknown", 8_368, 0.45),
    ],
    "tasks": [
        ("text-generation", None, 41.07),
        ("text-classification", None, 13.62),
        ("text-to-image", None, 11.4),
        ("reinforcement-learning", None, 8.66),
        ("automatic-speech-recognition", None, 3.49),
        ("token-classification", None, 3.23),
        ("image-classification", None, 2.59),
        ("fill-mask", None, 2.1),
        ("feature-extraction", None, 2.01),
        ("question-answering", None, 1.79),
    ],
    "languages": [
        ("English", 221_550, 85.56),
        ("Chinese", 12_917, 4.99),
        ("French", 11_754, 4.54),
        ("Spanish", 10_711, 4.14),
        ("German", 10_532, 4.07),
        ("Japanese", 8_985, 3.47),
        ("Korean", 8_475, 3.27),
        ("Italian", 8_361, 3.23),
        ("Portuguese", 8_284, 3.2),
        ("Russian", 6_595, 2.55),
    ],
    "libraries": [
        ("transformers", None, 63.17),
        ("peft", None, 19.92),
        ("diffusers", None, 8.31),
        ("stable-baselines3", None, 2.14),
        ("sentence-transformers", None, 1.32),
        ("ml-agents", None, 1.08),
        ("tf-keras", None, 0.34),
        ("adapter-transformers", None, 0.33),
        ("keras", None, 0.26),
        ("mlx", None, 0.26),
    ],
    "parents_by_children": [
        ("black-forest-labs/FLUX.1-dev", 33_042, None),
        ("Qwen/Qwen1.5-0.5B", 32_501, None),
        ("Qwen/Qwen1.5-1.8B", 30_581, None),
        ("google/gemma-2b", 23_794, None),
        ("google/gemma-7b", 9_565, None),
        ("distilbert/distilbert-base-uncased", 9_361, None),
        ("stabilityai/stable-diffusion-xl-base-1.0", 8_430, None),
        ("Qwen/Qwen1.5-7B", 6_457, None),
        ("google-bert/bert-base-uncased", 5_556, None),
        ("aubmindlab/bert-base-arabertv02", 4_000, None),
    ],
    "datasets": [
        ("imagefolder", 5_143, None),
        ("glue", 3_518, None),
        ("generator", 3_271, None),
        ("squad", 1_862, None),
        ("emotion", 1_768, None),
        ("imagenet-1k", 1_563, None),
        ("mozilla-foundation/common_voice_11_0", 1_501, None),
        ("common_voice_7_0", 1_333, None),
        ("imdb", 1_331, None),
        ("wikipedia", 1_309, None),
    ],
    # The paper counts arXiv *categories*; the warehouse has no id -> category map.
    "arxiv_ids": [
        ("cs.LG", 329_296, None),
        ("cs.CY", 289_447, None),
        ("cs.CL", 63_044, None),
        ("cs.AI", 38_571, None),
        ("cs.CV", 20_812, None),
        ("eess.AS", 3_759, None),
        ("cs.SD", 3_431, None),
        ("cs.IR", 2_843, None),
        ("stat.ML", 2_606, None),
        ("cs.DC", 1_640, None),
    ],
    "most_downloaded": [
        ("Falconsai/nsfw_image_detection", None, None),
        ("sentence-transformers/all-MiniLM-L6-v2", None, None),
        ("timm/mobilenetv3_small_100.lamb_in1k", None, None),
        ("dima806/fairface_age_image_detection", None, None),
        ("google-bert/bert-base-uncased", None, None),
        ("amazon/chronos-t5-small", None, None),
        ("facebook/esm2_t30_150M_UR50D", None, None),
        ("timm/resnet50.a1_in1k", None, None),
        ("Bingsu/adetailer", None, None),
        ("sentence-transformers/all-mpnet-base-v2", None, None),
    ],
}

# Section 4.1: children of an edge of each type that have >= 1 child (no-merges graph).
PAPER_CHILDREN_WITH_CHILDREN = {"finetune": 15_047, "quantized": 970, "adapter": 458}

# Section 4.6 (final state fd6432d, finetune graph): optimal orderings, upstream first.
PAPER_ORDERINGS = {
    "licenses": (
        "gemma, llama3.1, llama3.3, llama3.2, llama3, openrail++, llama2, apache-2.0, "
        "creativeml-openrail-m, cc-by-nc-4.0, mit, openrail, cc-by-nc-sa-4.0, cc-by-sa-4.0, "
        "cc-by-4.0, cc, bigscience-bloom-rail-1.0, afl-3.0, artistic-2.0, gpl-3.0"
    ),
    "languages": (
        "Polish, Swedish, Thai, Italian, Portuguese, Japanese, Romanian, Dutch, German, French, "
        "Indonesian, Vietnamese, Turkish, Russian, Spanish, Chinese, Arabic, Hindi, Korean, "
        "English"
    ),
    "pipeline_tag": (
        "fill-mask, feature-extraction, automatic-speech-recognition, question-answering, "
        "text-generation, text-to-image, image-classification, text-classification, "
        "reinforcement-learning, token-classification"
    ),
    "library_name": (
        "peft, adapter-transformers, timm, transformers, diffusers, mlx, ml-agents, tf-keras, "
        "sentence-transformers, keras"
    ),
}
