"""Dead and negative units of ReLU-family networks, defined once for claim S4 and the
dead-units figure.

From the layer statistics "activation" of each network, per monitor point and layer:

- dead = dead_fraction: units with f'(s) = 0 (no gradient) on every monitor example;
- negative = negative_fraction: units with s <= 0 on every monitor example (a leaky unit
  there still gets gradient at the leak's slope, so it is never dead).

Networks recorded before negative_fraction existed recorded s <= 0 as dead_fraction: for them
(`old`) negative is that value, and dead is exact only for ReLU (whose units with s <= 0 are
exactly its dead ones); for a leaky variant it is only an upper bound on the dead fraction
(`exact` False).

numpy and pandas load on first use (the figures import this module when the workflow plans).
"""

from __future__ import annotations

from trainability.lazy import lazy_import

pd = lazy_import("pandas")

KEYS = ["run", "member", "update", "layer"]


def unit_fractions(stats: pd.DataFrame) -> pd.DataFrame:
    """(run, member, update, layer, dead, negative, old, exact) of the networks in `stats`
    (layer_stats rows; see the module docstring): `old` when the network recorded no
    negative_fraction, `exact` when `dead` is the no-gradient fraction rather than a bound."""
    stats = stats[(stats["quantity"] == "activation")
                  & stats["stat"].isin(["dead_fraction", "negative_fraction"])]
    if stats.empty:
        return pd.DataFrame(columns=[*KEYS, "dead", "negative", "old", "exact"])
    wide = stats.groupby([*KEYS, "stat"])["value"].first().unstack("stat")
    wide = wide.reindex(columns=["dead_fraction", "negative_fraction"])
    wide.columns = ["dead", "negative"]
    wide = wide.reset_index()
    recorded = wide.groupby(["run", "member"])["negative"].transform(
        lambda v: v.notna().any())
    old = ~recorded.astype(bool)
    wide.loc[old, "negative"] = wide.loc[old, "dead"]
    activation = stats.groupby(["run", "member"])["activation"].first()
    relu = pd.Series(list(zip(wide["run"], wide["member"], strict=True)),
                     index=wide.index).map(activation).astype(str) == "relu"
    return wide.assign(old=old, exact=~old | relu)


def network_ends(fractions: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per network (run, member): `column` averaged over layers at its first and at its last
    monitor point that has a value, as <column>_start and <column>_end."""
    rows = fractions.dropna(subset=[column])
    per_update = rows.groupby(["run", "member", "update"])[column].mean().reset_index()
    per_update = per_update.sort_values("update")
    return per_update.groupby(["run", "member"])[column].agg(
        **{f"{column}_start": "first", f"{column}_end": "last"})


def fraction_summary(curves: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per update: mean, min, max and count over the networks of one unit fraction (the
    per-network values already averaged over layers)."""
    curves = curves[curves[column].notna()]
    return curves.groupby("update")[column].agg(["mean", "min", "max", "count"])
