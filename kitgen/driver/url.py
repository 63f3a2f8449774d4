"""Where the database is: a SQLite file path, or a server URL (``postgresql://…``).

Parsed without importing any database module, so reading the configuration stays cheap and
works when an engine's driver is not installed. A server URL keeps its password for connecting
and never shows it: ``str()`` of a ``ServerUrl`` is the URL without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit

SQLITE_SCHEMES = ("sqlite", "sqlite3")
SERVER_SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql"}  # URL scheme → engine


class UrlError(ValueError):
    """A database setting that is neither a path nor a URL kitgen can use; ``hint`` says what to write."""

    def __init__(self, what: str, hint: str) -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint


@dataclass(frozen=True)
class ServerUrl:
    """A database on a server: ``conninfo`` connects (password included), ``str()`` shows it without."""

    engine: str
    conninfo: str = field(repr=False)
    shown: str
    search_path: tuple[str, ...] = ()  # from dbmate-style ?search_path=a,b (libpq has no such parameter)
    password: str = field(default="", repr=False)

    def __str__(self) -> str:
        return self.shown

    @property
    def database_name(self) -> str:
        """The database the URL names ("" when libpq's default, the user name, applies)."""
        return unquote(urlsplit(self.conninfo).path.lstrip("/"))

    def with_database(self, name: str) -> ServerUrl:
        """The same server and credentials, another database."""
        conninfo = _join(urlsplit(self.conninfo)._replace(path="/" + quote(name)))
        shown = _join(urlsplit(self.shown)._replace(path="/" + quote(name)))
        return ServerUrl(self.engine, conninfo, shown, self.search_path, self.password)

    @property
    def without_password(self) -> str:
        """``conninfo`` with its password taken out (of the user part and of the query): what may be
        written on another program's command line, which ``ps`` shows to every user of the machine."""
        parts = urlsplit(self.conninfo)
        user, at, host = parts.netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}@{host}" if at else host
        query = [(key, text) for key, text in parse_qsl(parts.query, keep_blank_values=True) if key != "password"]
        return _join(parts._replace(netloc=netloc, query=urlencode(query, quote_via=quote)))

    def hide(self, text: str) -> str:
        """``text`` with the password, raw or URL-encoded, replaced (for messages that echo it).

        A password of fewer than 4 characters is left as it is: masking it everywhere it occurs (in
        ``127.0.0.1``) would show more than it hides."""
        for secret in {self.password, quote(self.password, safe="")} - {""}:
            if len(secret) >= MASKED_LENGTH:
                text = text.replace(secret, "***")
        return text


MASKED_LENGTH = 4
CONNINFO = re.compile(r"^\s*(host|hostaddr|port|dbname|user|password|passfile|service|sslmode|options)\s*=")


def _join(parts: SplitResult) -> str:
    """``urlunsplit`` that keeps the ``//`` of a URL without a host (``postgresql:///shop``)."""
    text = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return text + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def is_url(value: str) -> bool:
    """Whether a database setting is written as a URL (``scheme:…``), not a path (``C:\\db`` is a path)."""
    scheme, colon, _ = value.partition(":")
    return bool(colon) and len(scheme) > 1 and scheme.replace("+", "").isalnum()


def sqlite_path(value: str) -> str:
    """The path of ``sqlite:path``, ``sqlite://path`` or ``sqlite:///abs/path`` (dbmate's forms)."""
    rest = value.partition(":")[2]
    if rest.startswith("///"):
        return "/" + unquote(rest[3:].split("?", 1)[0])
    return unquote(rest.removeprefix("//").split("?", 1)[0])


def parse_server_url(value: str) -> ServerUrl:
    """A ``postgresql://`` / ``postgres://`` URL; ``?search_path=`` is taken out for libpq."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  # a port that is not a number raises here
    except ValueError as exc:
        raise UrlError(f"the database URL is not valid: {exc}", "write postgresql://user@host:port/database") from None
    engine = SERVER_SCHEMES.get(parts.scheme.lower())
    if engine is None:
        known = ", ".join(f"{scheme}://" for scheme in SERVER_SCHEMES)
        raise UrlError(
            f"{parts.scheme}:// databases are not supported",
            f"use a SQLite path, sqlite:///path, or a PostgreSQL URL ({known})",
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    search_path = tuple(
        schema.strip() for key, text in query if key == "search_path" for schema in text.split(",") if schema.strip()
    )
    kept = urlencode([(key, text) for key, text in query if key != "search_path"], quote_via=quote)
    conninfo = _join(parts._replace(query=kept))
    password = unquote(parts.password or "")
    netloc = parts.netloc.rpartition("@")
    shown_netloc = (netloc[0].partition(":")[0] + "@" + netloc[2]) if netloc[1] else parts.netloc
    shown_query = urlencode([(key, text) for key, text in query if key != "password"], quote_via=quote)
    shown = _join(parts._replace(netloc=shown_netloc, query=shown_query))
    if any(key == "password" for key, _ in query):
        password = password or next(text for key, text in query if key == "password")
    return ServerUrl(engine, conninfo, shown, search_path, password)


def parse_database(value: str, base: Path) -> Path | ServerUrl:
    """A database setting: a path (relative to ``base``), ``sqlite:`` URL, or a server URL."""
    if CONNINFO.match(value):  # libpq's key=value form: never taken for a file name (it may hold a password)
        raise UrlError(
            "the database is written as a key=value connection string",
            "write it as a URL: postgresql://user@host:port/database (the password in ~/.pgpass or PGPASSWORD)",
        )
    written = file_as_written(value, base)
    return written.resolve() if written is not None else parse_server_url(value)


def file_as_written(value: str, base: Path) -> Path | None:
    """The SQLite file a database setting names, made absolute but not resolved (a symlink on the way is
    kept); None for a server URL."""
    scheme = value.partition(":")[0].lower()
    if not is_url(value) or (scheme not in SQLITE_SCHEMES and "://" not in value):
        return base / value
    if scheme in SQLITE_SCHEMES:
        path = sqlite_path(value)
        if not path:
            raise UrlError(f"{value!r} names no file", "write sqlite:///absolute/path or sqlite:relative/path")
        return base / path
    return None


def engine_of(database: Path | ServerUrl) -> str:
    """The engine of a database setting: "sqlite" or a server's engine."""
    return database.engine if isinstance(database, ServerUrl) else "sqlite"
