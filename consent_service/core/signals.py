"""What a request tells us about the visitor: GPC, region, language, device class.

Pure functions of header values, so every rule is tested without a server.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from functools import lru_cache

from ua_parser import user_agent_parser
from user_agents import parse as parse_user_agent

from consent_service.core.regions import is_valid_region
from consent_service.core.vocab import DeviceClass

_OWS = " \t"


def gpc_signal(values: Iterable[str]) -> bool:
    """True when some `Sec-GPC` line (or `gpc` query value) carries exactly `1`.

    HTTP joins repeated header lines with commas, and servers disagree on trimming (h11,
    httptools and test transports differ), so every value is split on commas and each element
    trimmed of spaces and tabs; only an element that is exactly `1` counts (`0`, `true`, `yes`
    and `1.0` are no signal). The query parameter is for pages that read
    `navigator.globalPrivacyControl` when the browser sends no header (Chromium does not), and
    follows the same rule.
    """
    return any(part.strip(_OWS) == "1" for value in values for part in value.split(","))


def region_from_headers(get: Callable[[str], str | None], pairs: Iterable[tuple[str, str | None]]) -> str | None:
    """`CC` or `CC-RR` from the first trusted CDN header pair that holds a valid country.

    CDNs send placeholders for unknown places (Cloudflare `XX`, Tor `T1`); those are ignored, and
    an invalid subdivision falls back to the country alone.
    """
    for country_header, region_header in pairs:
        country = (get(country_header) or "").strip()
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            continue  # checked before upper(): "ß".upper() is "SS"
        country = country.upper()
        if country in ("XX", "ZZ"):
            continue
        sub = (get(region_header) or "").strip().upper() if region_header else ""
        region = f"{country}-{sub}" if sub else country
        return region if is_valid_region(region) else country
    return None


def negotiate_language(accept_language: str | None, available: Collection[str], default: str = "en") -> str:
    """The visitor's most preferred language we have texts for (RFC 9110 q-values, primary tag)."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language[:512].split(",")):
        tag, _, params = item.strip().partition(";")
        q = _q_value(params)
        primary = tag.strip().lower().split("-", 1)[0]
        if q > 0 and primary in available:
            ranked.append((-q, index, primary))
    return min(ranked)[2] if ranked else default


def _q_value(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


UA_PREFIX = 1024  # what is parsed of a User-Agent, and so what the caches below are keyed by


def device_class(user_agent: str | None) -> DeviceClass:
    """pc, mobile, tablet, bot or other, from the header's first UA_PREFIX characters: the cache is
    keyed by that prefix, never by the whole header, so huge headers cannot grow it."""
    return _device_class(user_agent[:UA_PREFIX] if user_agent else None)


@lru_cache(maxsize=4096)
def _device_class(user_agent: str | None) -> DeviceClass:
    """Cached: parsing a new string costs ~0.7 ms."""
    if not user_agent:
        return DeviceClass.OTHER
    ua = parse_user_agent(user_agent)
    if ua.is_bot:
        return DeviceClass.BOT
    if ua.is_tablet:
        return DeviceClass.TABLET
    if ua.is_mobile:
        return DeviceClass.MOBILE
    if ua.is_pc:
        return DeviceClass.PC
    return DeviceClass.OTHER


# ---- browser family, for the statistics ------------------------------------------------------------


def ua_labels(user_agent: str | None) -> tuple[DeviceClass, str]:
    """Device class and browser family (one of BROWSERS) of a User-Agent string, from its first
    UA_PREFIX characters (the cache's key, as for device_class)."""
    return _ua_labels(user_agent[:UA_PREFIX] if user_agent else None)


@lru_cache(maxsize=4096)
def _ua_labels(user_agent: str | None) -> tuple[DeviceClass, str]:
    """Cached, like _device_class; a string it just parsed is still in ua_parser's own cache, so a
    new one is not parsed twice."""
    kind = _device_class(user_agent)
    if not user_agent or kind is DeviceClass.BOT:
        return kind, "other"
    family = user_agent_parser.ParseUserAgent(user_agent)["family"]  # type: ignore[no-untyped-call]
    return kind, browser_of(str(family))


_BROWSER_PREFIXES = (
    ("chrome", "chrome"),  # Chrome, Chrome Mobile, Chrome Mobile iOS, Chrome Mobile WebView
    ("chromium", "chrome"),
    ("headlesschrome", "chrome"),
    ("mobile safari", "safari"),  # also Mobile Safari UI/WKWebView (in-app views)
    ("safari", "safari"),
    ("firefox", "firefox"),  # Firefox, Firefox Mobile, Firefox iOS
    ("edge", "edge"),
    ("samsung", "samsung"),
    ("opera", "opera"),  # Opera, Opera Mobile, Opera Mini
)


def browser_of(family: str) -> str:
    name = family.lower()
    return next((browser for prefix, browser in _BROWSER_PREFIXES if name.startswith(prefix)), "other")
