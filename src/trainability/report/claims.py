"""The claims ledger as the report shows it: the verdicts of the claims JSON, with badges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainability.report.format import badge, fmt_any


def load_claims(claims_json: str | Path | None) -> list[dict[str, Any]]:
    """The verdict objects, each with a `badge` added; [] when the file is absent."""
    if claims_json is None or not Path(claims_json).is_file():
        return []
    data = json.loads(Path(claims_json).read_text(encoding="utf-8"))
    if isinstance(data, dict):  # write_claims' {"counts": ..., "claims": [...]}
        data = data.get("claims", [])
    claims = []
    for item in data:
        item = dict(item)
        item["id"] = str(item.get("id", "?"))
        item["badge"] = badge(item.get("verdict"))
        evidence = item.get("evidence")
        if isinstance(evidence, dict):
            item["evidence_items"] = [f"{k}: {fmt_any(v)}" for k, v in evidence.items()]
        elif isinstance(evidence, list | tuple):
            item["evidence_items"] = [fmt_any(v) for v in evidence]
        else:
            item["evidence_items"] = [str(evidence)] if evidence not in (None, "") else []
        numbers = item.get("numbers") or {}
        item["number_items"] = (_flatten(numbers) if isinstance(numbers, dict)
                                else [("", fmt_any(numbers))])
        claims.append(item)
    return claims


def _flatten(numbers: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts as dotted keys ("depth4.min_mean"), values formatted."""
    items = []
    for key, value in numbers.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not all(str(k).isdigit() for k in value):
            items += _flatten(value, prefix=f"{name}.")
        elif isinstance(value, dict):  # per layer or per seed: one line
            items.append((name, ", ".join(f"{k}: {fmt_any(v)}" for k, v in value.items())))
        else:
            items.append((name, fmt_any(value)))
    return items


def claim_refs(ids: Any, by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    refs = []
    for claim_id in ids or ():
        claim = by_id.get(str(claim_id))
        refs.append({"id": str(claim_id),
                     "claim": claim.get("claim", "") if claim else "",
                     "badge": claim["badge"] if claim else badge(None),
                     "in_ledger": claim is not None})
    return refs
