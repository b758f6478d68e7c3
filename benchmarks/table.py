"""The goals table the production benchmarks print (``make bench``): one row per measured figure."""
from dataclasses import dataclass


@dataclass
class Row:
    section: str   # "Bytes", "Queries", "Throughput", "Server time", "Load run", "Memory", "Disk"
    measure: str   # what was measured, e.g. "parent home: first visit (HTML+CSS+JS, br)"
    figure: str    # the measured figure, formatted, e.g. "31.2 KB"
    goal: str = ""  # the goal as written in issue 10 / QUALITY.md, e.g. "<= 45 KB"; "" when none
    met: bool | None = None  # None when there is no goal to meet


def render(rows, title="Hearth in production: measured in this run"):
    """The rows as a plain-text table, grouped by section, with a verdict column."""
    widths = [max([len(r.measure) for r in rows] + [7]), max([len(r.figure) for r in rows] + [6]),
              max([len(r.goal) for r in rows] + [4])]
    lines = [title, "=" * len(title)]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines += ["", section]
            lines.append(f"  {'measure':<{widths[0]}}  {'figure':>{widths[1]}}  {'goal':<{widths[2]}}  verdict")
        verdict = "" if row.met is None else ("met" if row.met else "MISSED")
        lines.append(f"  {row.measure:<{widths[0]}}  {row.figure:>{widths[1]}}  {row.goal:<{widths[2]}}  {verdict}")
    missed = [r for r in rows if r.met is False]
    lines += ["", f"{sum(r.met is True for r in rows)} goals met, {len(missed)} missed."]
    return "\n".join(lines)


def all_met(rows):
    return not any(r.met is False for r in rows)
