"""Who was in a watched list when: the members now or at any moment since the baseline, what
changed between two moments, the accounts both lists of an account share, and the list's
size and changes per day.

A membership is a period: from the poll that first reported the member (or the baseline) to
the poll that reported it removed. The current period of each member lives on its edge
(`edges.joined_at`); ended ones are `past_members` rows (listings.py moves them there). So
storage grows with changes, and "the list at T" is the periods that cover T:
`joined_at <= T < left_at`.

Rows are the cursor's own tuples in `MEMBER_COLUMNS` order, then the member's deactivation,
with flags as SQLite gives them (1 or 0): a list of a million is written out as it is read,
never held, and reading it costs what SQLite costs (the `list --format csv` bench figure).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Literal

from watcher.store.base import Part

# A member row: the columns `watcher list` prints, then whether the member's account is
# deactivated (or gone) while watcher keeps it silently.
MEMBER_COLUMNS = ("id", "handle", "name", "follower_count", "verified", "since", "url")
Member = tuple[str, str | None, str | None, int | None, int, str, str | None, int]
Sort = Literal["followers", "name", "since"]
SORTS: tuple[Sort, ...] = ("since", "followers", "name")

_ORDER: dict[Sort, str] = {
    "since": "m.joined_at DESC, m.target_id",
    "followers": "a.follower_count DESC NULLS LAST, m.target_id",
    "name": "COALESCE(a.name, a.handle, m.target_id) COLLATE NOCASE, m.target_id",
}
_MEMBER = (
    "m.target_id, a.handle, a.name, a.follower_count, COALESCE(a.is_verified, 0),"
    " m.joined_at, a.url, COALESCE(a.deactivated, 0) OR m.state = 'hidden'"
)
_EXPORTED = (
    "m.target_id, a.handle, a.name, a.follower_count,"
    " CASE WHEN a.is_verified THEN 'true' ELSE 'false' END, m.joined_at, a.url"
)
_PROFILE = "LEFT JOIN accounts AS a ON a.platform = :p AND a.id = m.target_id"
_JOINED = "COALESCE(joined_at, since)"
# Where a page ends: its last member's sort key and id (`cursor_of`).
Cursor = tuple[str | int | None, str]
_NAME = "COALESCE(a.name, a.handle, m.target_id)"
_NOW = f"SELECT target_id, {_JOINED} AS joined_at, state FROM edges"


class Memberships(Part):
    TABLE = "past_members"

    def members(
        self,
        watch_id: int,
        platform: str,
        *,
        at: str | None = None,
        sort: Sort = "since",
        exported: bool = False,
    ) -> Iterator[Member]:
        """The list as stored now (the last poll's), or as it stood at `at`.

        `exported`: rows exactly as a CSV export writes them (`verified` as `true`/`false`,
        no deactivation column), so that a million of them go from the cursor to the CSV
        writer with no Python step per row."""
        columns = _EXPORTED if exported else _MEMBER
        cursor: Iterator[Member] = self.db.execute(
            f"SELECT {columns} FROM ({self._periods(at, '')}) AS m {_PROFILE}"
            f" ORDER BY {_ORDER[sort]}",
            {"w": watch_id, "p": platform, "at": at},
        )
        return cursor

    def page(
        self,
        watch_id: int,
        platform: str,
        *,
        at: str | None = None,
        sort: Sort = "since",
        search: str | None = None,
        after: Cursor | None = None,
        limit: int = 50,
    ) -> list[Member]:
        """One page of the list (now, or as it stood at `at`): the `limit` members after
        `after` (`cursor_of` the last row of the page before) in `sort` order; `search`: only
        members whose handle or name holds it (any case).

        A keyset, never an offset. By `since` each period table is walked along its index
        from the cursor (`edges_by_joined`), so a page deep in a list of a million costs
        what the first does; by followers or name SQLite keeps the best `limit` rows of one
        pass over the list (a sort of the whole list is never held)."""
        named: dict[str, Any] = {"w": watch_id, "p": platform, "n": limit, "at": at}
        match = ""
        if search:
            named["q"] = "%" + _like_escaped(search) + "%"
            match = (
                " AND EXISTS (SELECT 1 FROM accounts AS s WHERE s.platform = :p"
                " AND s.id = target_id AND (s.handle LIKE :q ESCAPE '\\'"
                " OR s.name LIKE :q ESCAPE '\\'))"
            )
        if sort == "since":
            periods = self._since_parts(named, at, after, match)
            keyset = ""
        else:
            periods = self._periods(at, match)
            keyset = _after_sql(sort, after, named)
        return list(
            self.db.execute(
                f"SELECT {_MEMBER} FROM ({periods}) AS m {_PROFILE} WHERE 1 {keyset}"
                f" ORDER BY {_ORDER[sort]} LIMIT :n",
                named,
            )
        )

    @staticmethod
    def _periods(at: str | None, match: str) -> str:
        if at is None:
            return f"{_NOW} WHERE watch_id = :w{match}"
        return (
            f"{_NOW} WHERE watch_id = :w AND {_JOINED} <= :at{match}"
            " UNION ALL SELECT target_id, joined_at, 'past' FROM past_members"
            f" WHERE watch_id = :w AND joined_at <= :at AND left_at > :at{match}"
        )

    @staticmethod
    def _since_parts(
        named: dict[str, Any], at: str | None, after: Cursor | None, match: str
    ) -> str:
        """Newest member first from the cursor: for each table of periods, the members that
        joined at the cursor's moment after its id, and those that joined before it; each
        part read along an index, `limit` rows at most."""
        named["k"], named["id"] = (str(after[0]), after[1]) if after else ("\uffff", "")
        tables = [("edges", _JOINED, "state", f" AND {_JOINED} <= :at" if at else "")]
        if at is not None:
            tables.append(("past_members", "joined_at", "'past'", " AND left_at > :at"))
        parts = []
        for table, joined, state, when in tables:
            head = f"SELECT target_id, {joined} AS joined_at, {state} AS state FROM {table}"
            where = f"watch_id = :w{when}{match}"
            parts.append(
                f"SELECT * FROM ({head} WHERE {where} AND {joined} = :k AND target_id > :id"
                " ORDER BY target_id LIMIT :n)"
            )
            parts.append(
                f"SELECT * FROM ({head} WHERE {where} AND {joined} < :k"
                f" ORDER BY {joined} DESC, target_id LIMIT :n)"
            )
        return " UNION ALL ".join(parts)

    def size_at(self, watch_id: int, at: str) -> int:
        (count,) = self.db.execute(
            f"SELECT COUNT(*) FROM ({self._periods(at, '')})", {"w": watch_id, "at": at}
        ).fetchone()
        return int(count)

    def diff(
        self, watch_id: int, platform: str, since: str, until: str | None = None
    ) -> Iterator[tuple[Literal["added", "removed"], Member]]:
        """The members added and removed between `since` and `until` (now when None), net: one
        that came and went inside the window is neither. Added members first, by id.

        Only members with a period starting or ending inside the window can differ, so the
        window's edges are found first and each is then placed at both ends."""
        until_at = until or "9999-12-31T23:59:59Z"
        cursor = self.db.execute(
            "WITH touched AS ("
            " SELECT target_id FROM edges WHERE watch_id = :w"
            f"  AND {_JOINED} > :S AND {_JOINED} <= :U"
            " UNION SELECT target_id FROM past_members WHERE watch_id = :w"
            "  AND ((joined_at > :S AND joined_at <= :U) OR (left_at > :S AND left_at <= :U))),"
            " placed AS (SELECT t.target_id,"
            f" {_covering('t', 'S')} AS at_start, {_covering('t', 'U')} AS at_end"
            " FROM touched AS t)"
            " SELECT CASE WHEN p.at_end IS NOT NULL THEN 'added' ELSE 'removed' END,"
            " p.target_id, a.handle, a.name, a.follower_count, COALESCE(a.is_verified, 0),"
            " COALESCE(p.at_end, p.at_start), a.url, COALESCE(a.deactivated, 0)"
            " FROM placed AS p LEFT JOIN accounts AS a"
            " ON a.platform = :platform AND a.id = p.target_id"
            " WHERE (p.at_start IS NULL) != (p.at_end IS NULL)"
            " ORDER BY p.at_end IS NULL, p.target_id",
            {"w": watch_id, "S": since, "U": until_at, "platform": platform},
        )
        for row in cursor:
            change: Literal["added", "removed"] = "added" if row[0] == "added" else "removed"
            yield change, row[1:]

    def mutuals(self, following_id: int, followers_id: int, platform: str) -> Iterator[Member]:
        """Accounts in both lists now; `since` is when the later of the two memberships began
        (when they became mutual, as far as watcher saw)."""
        cursor: Iterator[Member] = self.db.execute(
            f"SELECT {_MEMBER} FROM (SELECT f.target_id,"
            " MAX(COALESCE(f.joined_at, f.since), COALESCE(b.joined_at, b.since)) AS joined_at,"
            " CASE WHEN 'hidden' IN (f.state, b.state) THEN 'hidden' ELSE 'present' END AS state"
            " FROM edges AS f JOIN edges AS b ON b.watch_id = :b AND b.target_id = f.target_id"
            f" WHERE f.watch_id = :f) AS m {_PROFILE} ORDER BY {_ORDER['since']}",
            {"b": followers_id, "f": following_id, "p": platform},
        )
        return cursor

    def history(self, watch_id: int) -> Iterator[tuple[str, int | None, int, int]]:
        """Per UTC day from the first poll to the last: the size the day's last complete poll
        read (None on a day without one), and the follows and unfollows recorded that day."""
        sizes = dict(self._last_sizes(watch_id, ""))
        changes = {
            day: (int(added), int(removed))
            for day, added, removed in self.db.execute(
                "SELECT substr(timestamp, 1, 10), SUM(type LIKE '%.added'),"
                " SUM(type LIKE '%.removed') FROM events WHERE watch_id = ?"
                " GROUP BY substr(timestamp, 1, 10)",
                [watch_id],
            )
        }
        days = sorted(sizes.keys() | changes.keys())
        if not days:
            return
        day, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
        while day <= last:
            key = day.isoformat()
            added, removed = changes.get(key, (0, 0))
            yield key, sizes.get(key), added, removed
            day += timedelta(days=1)

    def daily_sizes(self, watch_id: int, since: str) -> list[tuple[str, int]]:
        """(UTC day, size) from the day of `since` on, for each day a complete poll read the
        list, the day's last one; led by the last size read before `since`, dated `since`'s
        day, when there is one (so a quiet stretch at the window's start still has a value).
        Oldest first, over the index by watch and start time."""
        day = since[:10]
        before = self.db.execute(
            "SELECT size FROM polls WHERE watch_id = ? AND started_at < ? AND outcome = 'ok'"
            " AND complete = 1 ORDER BY started_at DESC LIMIT 1",
            [watch_id, since],
        ).fetchone()
        sizes = [(d, size) for d, size in self._last_sizes(watch_id, since) if size is not None]
        if before is not None and before[0] is not None and (not sizes or sizes[0][0] != day):
            sizes.insert(0, (day, int(before[0])))
        return sizes

    def _last_sizes(self, watch_id: int, since: str) -> list[tuple[str, int | None]]:
        """(UTC day, size) of each day's last complete poll started at `since` or later,
        oldest first."""
        rows = self.db.execute(
            "SELECT substr(started_at, 1, 10), size FROM polls WHERE id IN (SELECT MAX(id)"
            " FROM polls WHERE watch_id = ? AND started_at >= ? AND outcome = 'ok'"
            " AND complete = 1 GROUP BY substr(started_at, 1, 10)) ORDER BY started_at",
            [watch_id, since],
        ).fetchall()
        return [(str(day), None if size is None else int(size)) for day, size in rows]


def cursor_of(member: Member, sort: Sort) -> Cursor:
    """Where a page ending with `member` ends, for the next page's `after`."""
    if sort == "since":
        return member[5], member[0]
    if sort == "followers":
        return member[3], member[0]
    name = member[2] if member[2] is not None else member[1]
    return (name if name is not None else member[0]), member[0]


def _after_sql(sort: Sort, after: Cursor | None, named: dict[str, Any]) -> str:
    """The keyset condition of `after` in `sort`'s order (`_ORDER`: the key, then the id)."""
    if after is None:
        return ""
    named["k"], named["id"] = after
    if sort == "name":
        return (
            f" AND ({_NAME} > :k COLLATE NOCASE"
            f" OR ({_NAME} = :k COLLATE NOCASE AND m.target_id > :id))"
        )
    if after[0] is None:  # the counts unknown come last
        return " AND a.follower_count IS NULL AND m.target_id > :id"
    return (
        " AND (a.follower_count < :k OR a.follower_count IS NULL"
        " OR (a.follower_count = :k AND m.target_id > :id))"
    )


def _like_escaped(text: str) -> str:
    """`text` matched literally by LIKE (its `%` and `_` escaped)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _covering(alias: str, moment: str) -> str:
    """The start of `alias`'s member's period covering the named moment, or NULL."""
    return (
        f"(SELECT COALESCE(e.joined_at, e.since) FROM edges AS e WHERE e.watch_id = :w"
        f" AND e.target_id = {alias}.target_id AND COALESCE(e.joined_at, e.since) <= :{moment}"
        f" UNION ALL SELECT p.joined_at FROM past_members AS p WHERE p.watch_id = :w"
        f" AND p.target_id = {alias}.target_id AND p.joined_at <= :{moment}"
        f" AND p.left_at > :{moment} LIMIT 1)"
    )
