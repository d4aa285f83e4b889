"""The ecosystem the local Hub serves: every version of every model, as of a movable clock.

A snapshot (synthetic or recorded) is the state at `snapshot_time`. Advancing the clock applies
a deterministic stream of events, tick by tick, as the real Hub changes over time:

| event | what changes |
| --- | --- |
| `new` | a new model, often a child of a live one (inheriting with mutation, see `synthetic`) |
| `edit` | new `sha`, `lastModified` moves, the card gains an update note |
| `license_edit` | the license (tags, cardData, card header) drifts; new `sha`/`lastModified` |
| `base_model_edit` | a base model is added, replaced or dropped; new `sha`/`lastModified` |
| `delete` | the model disappears |
| `rename` | same `_id`, new `id`; `sha` and `lastModified` do not move; the old id redirects |
| `popularity` | `downloads`, `likes`, `trendingScore` change; `sha` and `lastModified` do not |

Events of tick k are drawn from a generator seeded by (seed, k), so the state at a given time
does not depend on how the clock got there. Old versions stay readable (by sha, and for
listings pinned to a past clock time; the server's default listings read the state now).
"""

from __future__ import annotations

import bisect
import gzip
import json
import math
import random
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingestion.localhub import synthetic

SORT_FIELDS = ("lastModified", "createdAt", "downloads", "likes", "trendingScore")
_TIME_FIELDS = ("lastModified", "createdAt")
_LANGUAGE_CODES = frozenset(synthetic.LANGUAGE_CODES)


def read_snapshot(path: Path) -> Iterator[dict]:
    """Stream `{"model", "readme"}` records from a JSONL or JSONL.gz file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class EvolutionRates:
    """Expected events per day for every 1,000 live models."""

    new: float = 6.0
    edit: float = 8.0
    license_edit: float = 0.6
    base_model_edit: float = 0.4
    delete: float = 0.5
    rename: float = 0.4
    popularity: float = 60.0

    @classmethod
    def parse(cls, text: str) -> EvolutionRates:
        """`new=6,edit=8,...` (unnamed kinds keep their defaults; `none` stops evolution)."""
        if text.strip() == "none":
            return cls(**{name: 0.0 for name in asdict(cls())})
        values = {}
        for pair in filter(None, text.split(",")):
            key, _, value = pair.partition("=")
            if key not in asdict(cls()):
                raise ValueError(f"unknown evolution event {key!r}")
            values[key] = float(value)
        return cls(**values)


class Version:
    __slots__ = ("valid_from", "item", "readme")

    def __init__(self, valid_from: float, item: dict | None, readme: bytes | None):
        self.valid_from = valid_from  # clock seconds; -inf for the snapshot itself
        self.item = item  # None once deleted
        self.readme = readme  # zlib-compressed README.md, None when the repo has none

    def readme_text(self) -> str | None:
        return None if self.readme is None else zlib.decompress(self.readme).decode("utf-8")


def _pack(readme: str | None) -> bytes | None:
    return None if readme is None else zlib.compress(readme.encode("utf-8"), 1)


def model_oid(item: dict) -> str:
    """The stable key: the Hub `_id`, or the repo id for sources that did not record one."""
    return item.get("_id") or f"id:{item['id']}"


def sort_value(item: dict, field: str):
    """Sort key of one item; missing values sort after every real one (descending)."""
    value = item.get(field)
    if value is None:
        return "" if field in _TIME_FIELDS else -math.inf
    return value


class HubStore:
    """Versioned models plus the clock; every public method is thread-safe."""

    def __init__(
        self,
        records: Iterable[dict],
        *,
        seed: int = 0,
        rates: EvolutionRates | None = None,
        tick_seconds: int = 3600,
        snapshot_time: datetime | None = None,
    ):
        self.seed = seed
        self.rates = rates or EvolutionRates()
        self.tick_seconds = tick_seconds
        self._lock = threading.RLock()
        self._versions: dict[str, list[Version]] = {}
        self._oids_by_id: dict[str, list[str]] = {}
        self._live: list[str] = []
        self._live_index: dict[str, int] = {}
        latest = ""
        for record in records:
            item = record["model"]
            oid = model_oid(item)
            # A repeated `_id` (a renamed repo recorded twice): the later record wins.
            if oid not in self._versions:
                self._add_live(oid)
            self._versions[oid] = [Version(-math.inf, item, _pack(record.get("readme")))]
            if oid not in self._oids_by_id.setdefault(item["id"], []):
                self._oids_by_id[item["id"]].append(oid)
            latest = max(latest, item.get("lastModified") or "", item.get("createdAt") or "")
        if snapshot_time is None:
            snapshot_time = synthetic.parse_hub_time(latest) if latest else synthetic.SNAPSHOT_TIME
        self.snapshot_time = snapshot_time.astimezone(UTC)
        self._snapshot_seconds = self.snapshot_time.timestamp()
        self.now = self._snapshot_seconds
        self._ticks_applied = 0
        self._created = 0
        self.events: list[dict] = []
        self._sorted: OrderedDict[tuple[float, str], list[tuple]] = OrderedDict()

    # -- reading ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._live)

    def clock(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def version_at(self, oid: str, as_of: float) -> Version | None:
        versions = self._versions.get(oid)
        if not versions:
            return None
        position = bisect.bisect_right([v.valid_from for v in versions], as_of) - 1
        return versions[position] if position >= 0 else None

    def lookup(self, repo_id: str, as_of: float | None = None) -> tuple[str | None, Version | None]:
        """The live model named `repo_id` at `as_of`: (oid, version), else (None, None)."""
        with self._lock:
            as_of = self.now if as_of is None else as_of
            for oid in self._oids_by_id.get(repo_id, ()):
                version = self.version_at(oid, as_of)
                if version is not None and version.item and version.item["id"] == repo_id:
                    return oid, version
            return None, None

    def renamed_to(self, repo_id: str) -> str | None:
        """The current id of a live model once named `repo_id` (the Hub redirects old names)."""
        with self._lock:
            for oid in self._oids_by_id.get(repo_id, ()):
                version = self.version_at(oid, self.now)
                if version is not None and version.item and version.item["id"] != repo_id:
                    return version.item["id"]
            return None

    def revision(self, oid: str, revision: str) -> Version | None:
        """`main`, or the sha of any version visible now."""
        with self._lock:
            current = self.version_at(oid, self.now)
            if revision == "main":
                return current
            for version in reversed(self._versions[oid]):
                visible = version.valid_from <= self.now and version.item
                if visible and version.item.get("sha") == revision:
                    return version
            return None

    def current_records(self) -> Iterator[dict]:
        """Ground truth for tests: `{"model", "readme"}` of every model live now (private
        ones included), after every deletion and rename so far."""
        with self._lock:
            live = [self.version_at(oid, self.now) for oid in self._live]
        for version in live:
            yield {"model": version.item, "readme": version.readme_text()}

    def sorted_at(self, as_of: float, field: str) -> list[tuple]:
        """[((sort value, _id), version)] of every model live at `as_of`, descending (ties by
        `_id`, the keyset a cursor points into); a few cached."""
        with self._lock:
            key = (as_of, field)
            cached = self._sorted.get(key)
            if cached is not None:
                self._sorted.move_to_end(key)
                return cached
            rows = []
            for oid, versions in self._versions.items():
                version = self.version_at(oid, as_of) if len(versions) > 1 else versions[0]
                if version is not None and version.item is not None:
                    item = version.item
                    rows.append(((sort_value(item, field), oid), version))
            rows.sort(key=lambda row: row[0], reverse=True)
            self._sorted[key] = rows
            while len(self._sorted) > 6:
                self._sorted.popitem(last=False)
            return rows

    # -- the clock ----------------------------------------------------------------------

    def advance(self, to: datetime) -> int:
        """Move the clock forward to `to`, applying every whole tick in between; events count."""
        target = to.astimezone(UTC).timestamp()
        with self._lock:
            if target < self.now:
                raise ValueError(f"the clock cannot go back from {self.clock().isoformat()}")
            before = len(self.events)
            while self._snapshot_seconds + (self._ticks_applied + 1) * self.tick_seconds <= target:
                self._ticks_applied += 1
                self._apply_tick(self._ticks_applied)
            self.now = target
            return len(self.events) - before

    def _apply_tick(self, tick: int) -> None:
        start = self._snapshot_seconds + (tick - 1) * self.tick_seconds
        rng = random.Random(synthetic.template_key(self.seed, 1_000_000_000 + tick))
        days = self.tick_seconds / 86_400
        kinds = []
        for kind, rate in asdict(self.rates).items():
            expected = rate * len(self._live) / 1000 * days
            kinds += [kind] * _poisson(rng, expected)
        rng.shuffle(kinds)
        for number, kind in enumerate(kinds):
            if not self._live:
                break
            moment = start + self.tick_seconds * (number + 1) / (len(kinds) + 1)
            getattr(self, f"_event_{kind}")(rng, moment)

    # -- events -------------------------------------------------------------------------

    def _add_live(self, oid: str) -> None:
        self._live_index[oid] = len(self._live)
        self._live.append(oid)

    def _drop_live(self, oid: str) -> None:
        position = self._live_index.pop(oid)
        last = self._live.pop()
        if last != oid:
            self._live[position] = last
            self._live_index[last] = position

    def _pick_live(self, rng: random.Random) -> tuple[str, Version]:
        oid = self._live[rng.randrange(len(self._live))]
        return oid, self._versions[oid][-1]

    def _record(self, moment: float, kind: str, oid: str, item: dict, **extra) -> None:
        self.events.append(
            {
                "time": synthetic.hub_time(datetime.fromtimestamp(moment, UTC)),
                "kind": kind,
                "_id": oid,
                "id": item["id"],
                **extra,
            }
        )

    def _push(self, oid: str, moment: float, item: dict | None, readme: bytes | None) -> None:
        self._versions[oid].append(Version(moment, item, readme))

    def _committed(self, item: dict, moment: float, rng: random.Random) -> dict:
        """A copy of `item` after a new commit at `moment`."""
        changed = dict(item)
        changed["sha"] = synthetic.stable_hex(self.seed, "commit", item["id"], moment, rng.random())
        changed["lastModified"] = synthetic.hub_time(datetime.fromtimestamp(moment, UTC))
        return changed

    def _event_new(self, rng: random.Random, moment: float) -> None:
        _, parent = self._pick_live(rng)
        created = datetime.fromtimestamp(moment, UTC)
        index = 50_000_000 + self._created
        self._created += 1
        relation = None
        if rng.random() < synthetic.SHARE_WITH_PARENT * 1.5 and not parent.item.get("private"):
            relation = synthetic.draw_relation(rng)
        parent_item = parent.item
        if relation is None:
            traits = synthetic.root_traits(rng)
            stem, parent_ids = synthetic.STEMS[rng.randrange(len(synthetic.STEMS))], []
        else:
            key = synthetic.template_key(self.seed, hash_text(parent_item["id"]))
            traits = synthetic.inherit(traits_from_item(parent_item), relation, key, rng)
            stem = parent_item["id"].split("/")[-1].split("-")[0] or "model"
            parent_ids = [parent_item["id"]]
        author = synthetic.author_name(rng.randrange(max(20, len(self._live) // 6)))
        suffix = rng.randrange(1 << 16)
        model_id = f"{author}/{synthetic.model_name(stem, relation, suffix, index)}"
        if self._oids_by_id.get(model_id):
            return
        lineage = synthetic.lineage_for(relation, parent_ids, model_id, rng)
        record = synthetic.build_record(
            seed=self.seed,
            index=index,
            model_id=model_id,
            traits=traits,
            lineage=lineage,
            created=created,
            modified=created,
            style=rng.randrange(1 << 24),
            rng=rng,
        )
        item = record["model"]
        oid = item["_id"]
        self._versions[oid] = [Version(moment, item, _pack(record["readme"]))]
        self._oids_by_id.setdefault(model_id, []).append(oid)
        self._add_live(oid)
        self._record(moment, "new", oid, item, parents=parent_ids)

    def _event_edit(self, rng: random.Random, moment: float) -> None:
        oid, current = self._pick_live(rng)
        item = self._committed(current.item, moment, rng)
        readme = current.readme_text()
        if readme is not None and rng.random() < 0.7:
            day = synthetic.hub_time(datetime.fromtimestamp(moment, UTC))[:10]
            readme += f"\n## Update {day}\n\nNew checkpoint uploaded; evaluation refreshed.\n"
        self._push(oid, moment, item, _pack(readme))
        self._record(moment, "edit", oid, item)

    def _event_license_edit(self, rng: random.Random, moment: float) -> None:
        oid, current = self._pick_live(rng)
        old = traits_from_item(current.item).license
        new = synthetic.drift_license(old, rng) if rng.random() < 0.5 else None
        if new is None or new == old:
            new = synthetic.permissive_license(rng)
        if new == old:
            new = "mit" if old == "apache-2.0" else "apache-2.0"
        item = self._committed(current.item, moment, rng)
        tags = [t for t in item.get("tags") or [] if not t.startswith("license:")]
        item["tags"] = [*tags, f"license:{new}"]
        readme = self._with_card_field(item, current.readme_text(), "license", new)
        self._push(oid, moment, item, _pack(readme))
        self._record(moment, "license_edit", oid, item, old=old, new=new)

    def _event_base_model_edit(self, rng: random.Random, moment: float) -> None:
        oid, current = self._pick_live(rng)
        _, other = self._pick_live(rng)
        item = self._committed(current.item, moment, rng)
        lineage = [t for t in item.get("tags") or [] if t.startswith("base_model:")]
        rest = [t for t in item.get("tags") or [] if not t.startswith("base_model:")]
        if lineage and rng.random() < 0.3:
            parents: list[str] = []  # the base model is dropped
        else:
            parents = [other.item["id"]]  # replaced or added; may close a cycle
        relation = "finetune"
        for tag in lineage:
            parts = tag.split(":")
            if len(parts) == 3 and parts[1] in synthetic.RELATIONS:
                relation = parts[1]
        new_tags = []
        for parent in parents:
            new_tags += [f"base_model:{parent}", f"base_model:{relation}:{parent}"]
        item["tags"] = [*rest[:-1], *new_tags, *rest[-1:]] if rest else new_tags
        value = parents[0] if parents else None
        readme = self._with_card_field(item, current.readme_text(), "base_model", value)
        self._push(oid, moment, item, _pack(readme))
        self._record(moment, "base_model_edit", oid, item, parents=parents)

    def _event_delete(self, rng: random.Random, moment: float) -> None:
        oid, current = self._pick_live(rng)
        self._push(oid, moment, None, None)
        self._drop_live(oid)
        self._record(moment, "delete", oid, current.item)

    def _event_rename(self, rng: random.Random, moment: float) -> None:
        oid, current = self._pick_live(rng)
        old_id = current.item["id"]
        author, name = old_id.split("/", 1) if "/" in old_id else ("", old_id)
        if rng.random() < 0.5:
            author = synthetic.author_name(rng.randrange(max(20, len(self._live) // 6)))
        new_id = f"{author}/{name}-{rng.choice(('v2', 'new', 'hf', 'official'))}".lstrip("/")
        if self._oids_by_id.get(new_id):
            return
        item = dict(current.item, id=new_id)
        if "modelId" in item:
            item["modelId"] = new_id
        if "author" in item:
            item["author"] = author or None
        self._push(oid, moment, item, current.readme)
        self._oids_by_id.setdefault(new_id, []).append(oid)
        self._record(moment, "rename", oid, item, old_id=old_id)

    def _event_popularity(self, rng: random.Random, moment: float) -> None:
        oid, current = self._pick_live(rng)
        item = dict(current.item)
        downloads = item.get("downloads") or 0
        item["downloads"] = max(0, int(downloads * rng.lognormvariate(0, 0.4)) + rng.randint(0, 20))
        item["likes"] = max(0, (item.get("likes") or 0) + rng.choice((-1, 0, 1, 1, 2, 5)))
        item["trendingScore"] = max(0, int(rng.paretovariate(2.0)) - 1)
        self._push(oid, moment, item, current.readme)
        self._record(moment, "popularity", oid, item)

    @staticmethod
    def _with_card_field(item: dict, readme: str | None, key: str, value) -> str | None:
        """Set one cardData field in the item and in the README's YAML header."""
        card = dict(item.get("cardData") or {})
        if value is None:
            card.pop(key, None)
        else:
            card[key] = value
        if readme is None:  # cardData is the README's header: no README, no cardData
            return None
        item["cardData"] = card
        return synthetic.with_card_header(readme, card)


def traits_from_item(item: dict) -> synthetic.Traits:
    """The heritable traits of a served item, read back from its tags and fields."""
    tags = item.get("tags") or []
    license = next((t[8:] for t in tags if t.startswith("license:") and len(t) > 8), None)
    languages = tuple(sorted(t for t in tags if t in _LANGUAGE_CODES))
    card_len = 3000 if item.get("cardData") is not None else 0
    return synthetic.Traits(
        license, languages, item.get("pipeline_tag"), item.get("library_name"), card_len, False
    )


def hash_text(text: str) -> int:
    return int(synthetic.stable_hex(text, length=12), 16)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def parse_clock(text: str) -> datetime:
    """An ISO time (`2025-07-14T00:00:00Z`) or a date."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def advance_by(store: HubStore, seconds: float) -> int:
    return store.advance(store.clock() + timedelta(seconds=seconds))
