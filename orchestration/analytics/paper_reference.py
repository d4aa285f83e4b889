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
    PaperNumber("edges", "Edges, parent in snapshot", 573_653, "4.1", SNAPSHOT),
    PaperNumber("edges_finetune", "Finetune edges", 189_391, "4.1", SNAPSHOT),
    PaperNumber("edges_adapter", "Adapter edges", 241_417, "4.1", SNAPSHOT),
    PaperNumber("edges_quantized", "Quantized edges", 101_921, "4.1", SNAPSHOT),
    PaperNumber("card_share", "Share of models with a card", 0.6704, "4.1"),
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
