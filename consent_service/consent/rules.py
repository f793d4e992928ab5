"""What a request means for the device's record: which choices a command stands for, whether it is
an opt-out request in the CCPA's sense, what a visit must write, and the change the store applies.
Pure functions of the visitor, the site and the record (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from consent_service.core.errors import ApiError
from consent_service.core.model import Choice, DeviceRecord
from consent_service.core.site import Site
from consent_service.core.visitor import Visitor
from consent_service.core.vocab import Action, DeviceClass, ErrorCode, Regime, RequestType, Source
from consent_service.store import Change


def unstored(visitor: Visitor, choices: Mapping[str, bool], policy_version: str) -> DeviceRecord:
    """The record a choice would make, for answering a bot without storing anything."""
    made = {pid: Choice(granted, visitor.now_ms, policy_version) for pid, granted in choices.items()}
    return DeviceRecord(choices=made, gpc_first_seen_ms=visitor.now_ms if visitor.gpc_now else None)


def request_type(visitor: Visitor, action: Action, choices: Mapping[str, bool]) -> RequestType | None:
    """Whether a change is an opt-out request in the sense of the CCPA's records and metrics: the
    one-click opt-out always; elsewhere a refusal of a sale/share purpose where the law is an
    opt-out law (in opt_in regions, declining is not a request but the absence of consent)."""
    if action is Action.OPT_OUT:
        return RequestType.OPT_OUT
    return RequestType.OPT_OUT if refuses_sale(visitor, choices) and visitor.regime is not Regime.OPT_IN else None


def refuses_sale(visitor: Visitor, choices: Mapping[str, bool]) -> bool:
    return any(not granted and visitor.site.purposes[p].sale_share for p, granted in choices.items())


def opt_out_change_id(at_ms: int) -> str:
    """One-click opt-outs have a change id of their time: an opt-out whose write landed after its
    answer had given up on it (and carried it in the token instead) is then found already written
    when the token brings it back (the write scripts skip a change id they last applied)."""
    return f"oo{at_ms}"


def only_refusals(choices: Mapping[str, bool]) -> bool:
    """Every choice a refusal (an opt-out, "reject all", a custom choice that grants nothing)."""
    return bool(choices) and not any(choices.values())


def sale_share_off(site: Site) -> dict[str, bool]:
    return {pid: False for pid, purpose in site.purposes.items() if purpose.sale_share}


def check_purposes(site: Site, purposes: Iterable[str]) -> None:
    if all(p in site.purposes for p in purposes):
        return
    unknown = sorted(set(purposes) - set(site.purposes))
    if unknown:
        raise ApiError(ErrorCode.UNKNOWN_PURPOSE, f"site {site.id!r} has no purpose {unknown[0][:64]!r}")


def first_gpc(visitor: Visitor, record: DeviceRecord | None, unavailable: bool) -> bool:
    """A human's device sending GPC with none on record: this request records it (the metric's
    `first_seen`); unknown when storage could not be read."""
    first = not unavailable and (record is None or record.gpc_first_seen_ms is None)
    return first and visitor.device_class is not DeviceClass.BOT


def write_due(visitor: Visitor, record: DeviceRecord | None) -> bool:
    """A GPC sighting not yet recorded today, or the daily refresh of a known record."""
    if visitor.gpc_now and (record is None or record.gpc_last_day != visitor.day):
        return True
    # The refresh slides the record's TTL, so an opt-out never lapses while the device visits.
    return record is not None and record.refreshed_day != visitor.day


def change_for(
    visitor: Visitor,
    device_id: str,
    *,
    gpc_seen: bool | None = None,
    choices: Mapping[str, bool] = {},
    action: Action | None = None,
    source: Source = Source.API,
    policy_version: str | None = None,
) -> Change:
    return Change(
        site=visitor.site.id,
        device_id=device_id,
        now_ms=visitor.now_ms,
        policy_version=policy_version or visitor.policy_version,
        regime=visitor.regime,
        region=visitor.region,
        device_class=visitor.device_class,
        gpc_seen=visitor.gpc_now if gpc_seen is None else gpc_seen,
        choices=choices,
        action=action,
        source=source,
    )
