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

import gzip
import itertools
import json
import math
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import weakref
import zlib
from array import array
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
    """One version of one model, read back from the store (`item` is None once deleted)."""

    __slots__ = ("vid", "n", "oid", "valid_from", "item", "readme_id", "_store")

    def __init__(self, store: HubStore, row: tuple):
        self._store = store
        self.vid, self.n, self.oid, self.valid_from, item, self.readme_id = row
        self.item = None if item is None else unpack_json(item)

    def readme_text(self) -> str | None:
        return self._store.readme_text(self.readme_id)


_VERSION_COLUMNS = "vid, n, oid, valid_from, item, readme_id"
_SORT_COLUMNS = ", ".join(f"k_{field}" for field in SORT_FIELDS)
_SCHEMA = f"""
create table models (n integer primary key, oid text not null unique);
create table names (id text not null, n integer not null, unique (id, n));
create table readmes (readme_id integer primary key, body blob not null);
create table versions (
    vid integer primary key, n integer not null, oid text not null,
    valid_from real not null, valid_to real not null,
    item text, readme_id integer, {_SORT_COLUMNS}
);
create index versions_by_model on versions (n);
"""
_INSERT_MODEL = "insert into models (oid) values (?) on conflict do nothing returning n"
_INSERT_VERSION = (
    f"insert into versions (n, oid, valid_from, valid_to, item, readme_id, {_SORT_COLUMNS}) "
    f"values (?, ?, ?, ?, ?, ?{', ?' * len(SORT_FIELDS)})"
)
_INSERT_README = "insert into readmes (body) values (?)"
_FOREVER = math.inf
_DEEP_LOCK = threading.Lock()


def deep_safe(function, value):
    """`function(value)` for a JSON codec; a record nested deeper than the interpreter's
    recursion limit (hostile `cardData`) still goes through, as on the Hub."""
    try:
        return function(value)
    except RecursionError:
        with _DEEP_LOCK:
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(limit, 20_000))
            try:
                return function(value)
            finally:
                sys.setrecursionlimit(limit)


def _compress(readme: str | None) -> bytes | None:
    return None if readme is None else zlib.compress(readme.encode("utf-8"), 1)


def pack_json(item: dict) -> str:
    """Items stay plain JSON: zlib's per-call set-up would cost more than the bytes it saves."""
    return deep_safe(json.dumps, item)


def unpack_json(text: str) -> dict:
    return deep_safe(json.loads, text)


def model_oid(item: dict) -> str:
    """The stable key: the Hub `_id`, or the repo id for sources that did not record one."""
    return item.get("_id") or f"id:{item['id']}"


def sort_value(item: dict, field: str):
    """Sort key of one item; missing values sort after every real one (descending)."""
    value = item.get(field)
    if value is None:
        return "" if field in _TIME_FIELDS else -math.inf
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return float(value)  # SQLite integers are 64-bit
    return value


class HubStore:
    """Versioned models plus the clock, served from an SQLite file; thread-safe.

    The file (every version: its item as JSON, sort keys, validity interval; READMEs apart and
    shared by versions that do not change them) is created in a temporary folder, under
    `work_dir` when given, and unlinked at once: it goes when the store or the process does.
    RAM holds the clock, the event log and two arrays of model numbers (the live models, in the
    order events draw them). One connection serves every thread, under the store's lock.
    """

    def __init__(
        self,
        records: Iterable[dict],
        *,
        seed: int = 0,
        rates: EvolutionRates | None = None,
        tick_seconds: int = 3600,
        snapshot_time: datetime | None = None,
        work_dir: Path | None = None,
    ):
        self.seed = seed
        self.rates = rates or EvolutionRates()
        self.tick_seconds = tick_seconds
        self._lock = threading.RLock()
        folder = tempfile.mkdtemp(prefix="localhub-", dir=work_dir)
        self._db = sqlite3.connect(
            Path(folder) / "hub.sqlite", isolation_level=None, check_same_thread=False
        )
        for pragma in ("journal_mode=off", "synchronous=off", "cache_size=-131072"):
            self._db.execute(f"pragma {pragma}")
        # The open file outlives its name (no journal, no other file): nothing is left on disk
        # once the process ends, however it ends.
        shutil.rmtree(folder)
        self._finalizer = weakref.finalize(self, self._db.close)
        self._db.executescript(_SCHEMA)
        self._live = array("q")  # model numbers, in the order events draw them
        self._live_position = array("q")  # by model number: index in _live, -1 once deleted
        latest = self._load(records)
        if snapshot_time is None:
            snapshot_time = synthetic.parse_hub_time(latest) if latest else synthetic.SNAPSHOT_TIME
        self.snapshot_time = snapshot_time.astimezone(UTC)
        self._snapshot_seconds = self.snapshot_time.timestamp()
        self.now = self._snapshot_seconds
        self._ticks_applied = 0
        self._created = 0
        self.events: list[dict] = []

    def _load(self, records: Iterable[dict]) -> str:
        """Stream the snapshot into the file; the latest time seen.

        READMEs are compressed on a second thread (zlib releases the GIL), a batch ahead of
        the inserts, while this one parses the next batch and writes the one before.
        """
        self._latest = ""
        self._db.execute("begin")
        with ThreadPoolExecutor(1, thread_name_prefix="localhub-load") as compressor:
            pending = None
            stream = iter(records)
            for batch in iter(lambda: tuple(itertools.islice(stream, 1000)), ()):
                readmes = [record.get("readme") for record in batch]
                compressed = compressor.submit(lambda texts=readmes: [_compress(t) for t in texts])
                if pending is not None:
                    self._insert_batch(*pending)
                pending = batch, compressed
            if pending is not None:
                self._insert_batch(*pending)
        for field in SORT_FIELDS:  # the keysets of the listings, one per sort order
            self._db.execute(f"create index by_{field} on versions (k_{field}, oid)")
        self._db.execute("commit")
        self._db.execute("analyze")
        return self._latest

    def _insert_batch(self, batch: tuple[dict, ...], compressed: Future) -> None:
        db, latest = self._db, self._latest
        for record, body in zip(batch, compressed.result(), strict=True):
            item = record["model"]
            oid = model_oid(item)
            row = db.execute(_INSERT_MODEL, (oid,)).fetchone()
            if row is None:  # a repeated `_id` (a renamed repo recorded twice): the later wins
                (n,) = db.execute("select n from models where oid = ?", (oid,)).fetchone()
                db.execute("delete from versions where n = ?", (n,))
            else:
                n = row[0]
                self._add_live(n)
            readme_id = None
            if body is not None:
                readme_id = db.execute(_INSERT_README, (body,)).lastrowid
            self._insert_version(n, oid, -math.inf, item, readme_id)
            db.execute("insert or ignore into names values (?, ?)", (item["id"], n))
            latest = max(latest, item.get("lastModified") or "", item.get("createdAt") or "")
        self._latest = latest

    def close(self) -> None:
        """Close the file, which frees its disk (also done when the store is collected)."""
        with self._lock:
            self._finalizer()

    # -- reading ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._live)

    def clock(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def readme_text(self, readme_id: int | None) -> str | None:
        if readme_id is None:
            return None
        with self._lock:
            (body,) = self._db.execute(
                "select body from readmes where readme_id = ?", (readme_id,)
            ).fetchone()
        return zlib.decompress(body).decode("utf-8")

    def _version_at(self, n: int, as_of: float) -> Version | None:
        row = self._db.execute(
            f"select {_VERSION_COLUMNS} from versions where n = ? and valid_from <= ? "
            "order by vid desc limit 1",
            (n, as_of),
        ).fetchone()
        return None if row is None else Version(self, row)

    def _numbers_named(self, repo_id: str) -> list[int]:
        rows = self._db.execute("select n from names where id = ? order by rowid", (repo_id,))
        return [n for (n,) in rows]

    def lookup(self, repo_id: str, as_of: float | None = None) -> tuple[str | None, Version | None]:
        """The live model named `repo_id` at `as_of`: (oid, version), else (None, None)."""
        with self._lock:
            as_of = self.now if as_of is None else as_of
            for n in self._numbers_named(repo_id):
                version = self._version_at(n, as_of)
                if version is not None and version.item and version.item["id"] == repo_id:
                    return version.oid, version
            return None, None

    def renamed_to(self, repo_id: str) -> str | None:
        """The current id of a live model once named `repo_id` (the Hub redirects old names)."""
        with self._lock:
            for n in self._numbers_named(repo_id):
                version = self._version_at(n, self.now)
                if version is not None and version.item and version.item["id"] != repo_id:
                    return version.item["id"]
            return None

    def revision(self, oid: str, revision: str) -> Version | None:
        """`main`, or the sha of any version visible now."""
        with self._lock:
            (n,) = self._db.execute("select n from models where oid = ?", (oid,)).fetchone()
            if revision == "main":
                return self._version_at(n, self.now)
            rows = self._db.execute(
                f"select {_VERSION_COLUMNS} from versions where n = ? and valid_from <= ? "
                "and item is not null order by vid desc",
                (n, self.now),
            ).fetchall()
        for row in rows:
            version = Version(self, row)
            if version.item.get("sha") == revision:
                return version
        return None

    def current_records(self) -> Iterator[dict]:
        """Ground truth for tests: `{"model", "readme"}` of every model live now (private
        ones included), after every deletion and rename so far."""
        with self._lock:
            live, now = array("q", self._live), self.now
        for n in live:
            with self._lock:
                version = self._version_at(n, now)
            yield {"model": version.item, "readme": version.readme_text()}

    def sorted_at(
        self, as_of: float, field: str, after: tuple | None = None, chunk: int = 256
    ) -> Iterator[tuple[tuple, Version]]:
        """((sort value, _id), version) of every model live at `as_of`, descending (ties by
        `_id`: the keyset a cursor points into), from just after the key `after`.

        Read from the field's index a chunk at a time; the lock is not held between chunks.
        """
        if field not in SORT_FIELDS:
            raise ValueError(f"unknown sort field {field!r}")
        query = (
            f"select k_{field}, {_VERSION_COLUMNS} from versions indexed by by_{field} "
            f"where valid_from <= ?1 and valid_to > ?1 and item is not null {{after}} "
            f"order by k_{field} desc, oid desc limit {chunk}"
        )
        while True:
            if after is None:
                sql, parameters = query.format(after=""), (as_of,)
            else:
                sql = query.format(after=f"and (k_{field}, oid) < (?2, ?3)")
                parameters = (as_of, *after)
            with self._lock:
                rows = self._db.execute(sql, parameters).fetchall()
            for row in rows:
                version = Version(self, row[1:])
                after = (row[0], version.oid)
                yield after, version
            if len(rows) < chunk:
                return

    # -- the clock ----------------------------------------------------------------------

    def advance(self, to: datetime) -> int:
        """Move the clock forward to `to`, applying every whole tick in between; events count."""
        target = to.astimezone(UTC).timestamp()
        with self._lock:
            if target < self.now:
                raise ValueError(f"the clock cannot go back from {self.clock().isoformat()}")
            before = len(self.events)
            self._db.execute("begin")
            try:
                while (
                    self._snapshot_seconds + (self._ticks_applied + 1) * self.tick_seconds <= target
                ):
                    self._ticks_applied += 1
                    self._apply_tick(self._ticks_applied)
            finally:
                self._db.execute("commit")
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

    def _add_live(self, n: int) -> None:
        while len(self._live_position) <= n:
            self._live_position.append(-1)
        self._live_position[n] = len(self._live)
        self._live.append(n)

    def _drop_live(self, n: int) -> None:
        position = self._live_position[n]
        self._live_position[n] = -1
        last = self._live.pop()
        if last != n:
            self._live[position] = last
            self._live_position[last] = position

    def _pick_live(self, rng: random.Random) -> Version:
        """A live model's current version (its newest)."""
        n = self._live[rng.randrange(len(self._live))]
        row = self._db.execute(
            f"select {_VERSION_COLUMNS} from versions where n = ? order by vid desc limit 1", (n,)
        ).fetchone()
        return Version(self, row)

    def _add_readme(self, readme: str | None) -> int | None:
        if readme is None:
            return None
        return self._db.execute(_INSERT_README, (_compress(readme),)).lastrowid

    def _insert_version(
        self, n: int, oid: str, moment: float, item: dict | None, readme_id: int | None
    ) -> None:
        if item is None:
            packed, keys = None, [None] * len(SORT_FIELDS)
        else:
            packed, keys = pack_json(item), [sort_value(item, field) for field in SORT_FIELDS]
        self._db.execute(_INSERT_VERSION, (n, oid, moment, _FOREVER, packed, readme_id, *keys))

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

    def _push(
        self, current: Version, moment: float, item: dict | None, readme_id: int | None
    ) -> None:
        """A new version of `current`'s model from `moment` on; `current` ends there."""
        self._db.execute("update versions set valid_to = ? where vid = ?", (moment, current.vid))
        self._insert_version(current.n, current.oid, moment, item, readme_id)

    def _committed(self, item: dict, moment: float, rng: random.Random) -> dict:
        """A copy of `item` after a new commit at `moment`."""
        changed = dict(item)
        changed["sha"] = synthetic.stable_hex(self.seed, "commit", item["id"], moment, rng.random())
        changed["lastModified"] = synthetic.hub_time(datetime.fromtimestamp(moment, UTC))
        return changed

    def _event_new(self, rng: random.Random, moment: float) -> None:
        parent = self._pick_live(rng)
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
        if self._numbers_named(model_id):
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
        (n,) = self._db.execute(_INSERT_MODEL, (oid,)).fetchone()
        self._insert_version(n, oid, moment, item, self._add_readme(record["readme"]))
        self._db.execute("insert or ignore into names values (?, ?)", (model_id, n))
        self._add_live(n)
        self._record(moment, "new", oid, item, parents=parent_ids)

    def _event_edit(self, rng: random.Random, moment: float) -> None:
        current = self._pick_live(rng)
        item = self._committed(current.item, moment, rng)
        readme_id = current.readme_id
        if readme_id is not None and rng.random() < 0.7:
            day = synthetic.hub_time(datetime.fromtimestamp(moment, UTC))[:10]
            readme = current.readme_text()
            readme += f"\n## Update {day}\n\nNew checkpoint uploaded; evaluation refreshed.\n"
            readme_id = self._add_readme(readme)
        self._push(current, moment, item, readme_id)
        self._record(moment, "edit", current.oid, item)

    def _event_license_edit(self, rng: random.Random, moment: float) -> None:
        current = self._pick_live(rng)
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
        self._push(current, moment, item, self._add_readme(readme))
        self._record(moment, "license_edit", current.oid, item, old=old, new=new)

    def _event_base_model_edit(self, rng: random.Random, moment: float) -> None:
        current = self._pick_live(rng)
        other = self._pick_live(rng)
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
        self._push(current, moment, item, self._add_readme(readme))
        self._record(moment, "base_model_edit", current.oid, item, parents=parents)

    def _event_delete(self, rng: random.Random, moment: float) -> None:
        current = self._pick_live(rng)
        self._push(current, moment, None, None)
        self._drop_live(current.n)
        self._record(moment, "delete", current.oid, current.item)

    def _event_rename(self, rng: random.Random, moment: float) -> None:
        current = self._pick_live(rng)
        old_id = current.item["id"]
        author, name = old_id.split("/", 1) if "/" in old_id else ("", old_id)
        if rng.random() < 0.5:
            author = synthetic.author_name(rng.randrange(max(20, len(self._live) // 6)))
        new_id = f"{author}/{name}-{rng.choice(('v2', 'new', 'hf', 'official'))}".lstrip("/")
        if self._numbers_named(new_id):
            return
        item = dict(current.item, id=new_id)
        if "modelId" in item:
            item["modelId"] = new_id
        if "author" in item:
            item["author"] = author or None
        self._push(current, moment, item, current.readme_id)
        self._db.execute("insert or ignore into names values (?, ?)", (new_id, current.n))
        self._record(moment, "rename", current.oid, item, old_id=old_id)

    def _event_popularity(self, rng: random.Random, moment: float) -> None:
        current = self._pick_live(rng)
        item = dict(current.item)
        downloads = item.get("downloads") or 0
        item["downloads"] = max(0, int(downloads * rng.lognormvariate(0, 0.4)) + rng.randint(0, 20))
        item["likes"] = max(0, (item.get("likes") or 0) + rng.choice((-1, 0, 1, 1, 2, 5)))
        item["trendingScore"] = max(0, int(rng.paretovariate(2.0)) - 1)
        self._push(current, moment, item, current.readme_id)
        self._record(moment, "popularity", current.oid, item)

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
