"""Chart.js configurations for the flow page (drawn by static/js/dashboard.js)."""

import statistics

PALETTE = ("#2563eb", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#4f46e5")
DELIVERED = "#059669"


def _cfd(cfd):
    labels = [f"{d:%-d %b}" for d in cfd["days"]]
    bands = [
        {
            "label": "Delivered (since the window began)",
            "data": cfd["delivered"],
            "backgroundColor": DELIVERED,
            "borderColor": DELIVERED,
            "fill": "origin",
            "pointRadius": 0,
        }
    ]
    # Latest stage on top of the delivered band, the first stage on top of all.
    for n, (stage, counts) in enumerate(reversed(cfd["stages"])):
        color = PALETTE[n % len(PALETTE)]
        bands.append(
            {
                "label": stage.name,
                "data": counts,
                "backgroundColor": color,
                "borderColor": color,
                "fill": "-1",
                "pointRadius": 0,
            }
        )
    return {
        "type": "line",
        "data": {"labels": labels, "datasets": bands},
        "options": {
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {
                "y": {
                    "stacked": True,
                    "beginAtZero": True,
                    "title": {"display": True, "text": "items"},
                },
                "x": {"ticks": {"maxTicksLimit": 10}},
            },
        },
    }


def _throughput(weeks):
    counts = [n for _, n in weeks]
    median = statistics.median(counts) if counts else 0
    return {
        "type": "line",
        "data": {
            "labels": [f"{w:%-d %b}" for w, _ in weeks],
            "datasets": [
                {
                    "label": "Delivered per week",
                    "data": counts,
                    "borderColor": PALETTE[0],
                    "backgroundColor": PALETTE[0],
                    "borderWidth": 3,
                },
                {
                    "label": f"Median {median:g} per week",
                    "data": [median] * len(counts),
                    "borderColor": PALETTE[1],
                    "borderDash": [6, 4],
                    "borderWidth": 2,
                    "pointRadius": 0,
                },
            ],
        },
        "options": {
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {"y": {"beginAtZero": True, "title": {"display": True, "text": "items"}}},
        },
    }


def flow_charts(cfd, weeks):
    return {"cfd": _cfd(cfd), "throughput": _throughput(weeks)}
