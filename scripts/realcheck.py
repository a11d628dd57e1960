"""Helper of scripts/realcheck: turn the real front-line data into linewatch's inputs and
report what `linewatch detect` made of it. Python 3 standard library only.

    realcheck.py line       FRONTLINE.geojson OUT.geojson
    realcheck.py sightings  CHANGES.ndjson OUT.ndjson --after TIME --stats STATS.json
    realcheck.py gtpoints   ground_truth.geojson OUT.ndjson
    realcheck.py sidecheck  LOCATED.ndjson
    realcheck.py report     (see scripts/realcheck for the arguments)

Data: front line and territorial changes derived from DeepStateMap (deepstatemap.live), by way
of the independent archive DanielRose2310/deepstatemaps-history; the cross-check from NZZ's
maps, data by Liveuamap. Non-commercial testing use only; nothing of it is copied into the
project: it is read in place from ../shared/data/real and every derived file goes to a
temporary directory.
"""

import argparse
import collections
import copy
import datetime
import json
import math
import re
import sys

# The two parties of the line. The derived front line's pieces all have the occupied area on
# the right of their walking direction (the main one runs from the Dnipro mouth to the Russian
# border north-east of Kharkiv; checked against deepstate_occupied_2023-10-01.geojson), and
# `sidecheck` proves it again with linewatch locate.
LEFT, RIGHT = "UA", "RU"

# Territorial change event -> the party whose ground presence it shows.
SIDE_OF_CHANGE = {"occupied_area_gain": "RU", "occupied_area_loss": "UA"}

CLASS_RANK = {"sustained_offensive": 3, "sustained_bombardment": 2, "escalation": 1}

# Reference points for the side check: (name, lon, lat, party that held it on 2023-10-01).
SIDE_CHECK = [
    ("Donetsk", 37.80, 48.00, "RU"),
    ("Melitopol", 35.37, 46.85, "RU"),
    ("Oleshky", 32.72, 46.62, "RU"),
    ("Kramatorsk", 37.56, 48.74, "UA"),
    ("Zaporizhzhia", 35.14, 47.84, "UA"),
    ("Kherson", 32.62, 46.64, "UA"),
]


def die(msg):
    print("realcheck: " + msg, file=sys.stderr)
    sys.exit(1)


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def day(s):
    return s[:10] if s else "open"


# ---------------------------------------------------------------------------------------------
# line


def cmd_line(a):
    # The longest piece only: the land front from the Dnipro mouth to the Russian border. The
    # file's other three pieces (36–56 km) are coasts of bays that the inward-shrunk land mask
    # kept (Tendra and Yahorlyk bays by the Kinburn peninsula, the Utlyuk lagoon ~100 km behind
    # the front), not lines of contact; all four have the occupied area on their right and do
    # not cross, so they could be used, but a coast is no line to judge ground against.
    with open(a.frontline) as f:
        fc = json.load(f)
    longest = None
    for feat in fc["features"]:
        if feat["properties"].get("layer") == "front_line_longest_piece":
            longest = feat
    if longest is None or longest["geometry"]["type"] != "LineString":
        die(a.frontline + ": no LineString feature with layer front_line_longest_piece")
    p = longest["properties"]
    out = {
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "properties": {
                "name": "front line %s (DeepStateMap), longest piece" % p.get("as_of_date", "?"),
                "left": LEFT,
                "right": RIGHT,
                "source": "DeepStateMap (deepstatemap.live), archive %s@%s %s"
                          % (p.get("source_repo"), p.get("source_commit", "")[:12],
                             p.get("source_path")),
                "snapshot_time": p.get("snapshot_time"),
            },
            "geometry": longest["geometry"],
        }],
    }
    with open(a.out, "w") as f:
        json.dump(out, f)
        f.write("\n")
    # The snapshot time is what "after the line" means for the change events.
    print(p["snapshot_time"])


# ---------------------------------------------------------------------------------------------
# sightings

# Keys of the violation Feature that linewatch writes itself; a carried property of the same
# name would be hidden, so the event's own "type" travels as "change".
DROP = {"id", "type", "time"}


def cmd_sightings(a):
    after = parse_time(a.after)
    after_day = after.date().isoformat()
    stats = collections.Counter()
    rows = []
    with open(a.changes) as f:
        for line in f:
            if not line.strip():
                continue
            ev = json.loads(line)
            p = ev["properties"]
            stats["events"] += 1
            if p.get("likely_artifact"):
                stats["dropped_artifact"] += 1
                continue
            # A DeepState event is the change between prev_snapshot_time and time; an NZZ one
            # between prev_date and time (update dates). Keep the changes that happened wholly
            # after the line was drawn.
            if "prev_snapshot_time" in p:
                before = parse_time(p["prev_snapshot_time"]) < after
            else:
                before = p["prev_date"] < after_day
            if before:
                stats["dropped_before_line"] += 1
                continue
            side = SIDE_OF_CHANGE.get(p["type"])
            if side is None:
                die("%s: unknown change type %r" % (p["id"], p["type"]))
            props = {k: v for k, v in p.items() if k not in DROP}
            props.update({
                "time": p["time"],
                "side": side,
                "kind": "ground",
                # km² of ground that changed hands: an episode's strength is the area it took.
                "strength": p["area_km2"],
                # The point is the polygon's representative point, inside it; for a strip of
                # width w it lies about w/2 from either long edge. With precision w/2 the depth
                # linewatch is certain of is roughly that of the polygon's near edge: a change
                # counts only where it lies wholly beyond the agreed line, so a sliver along the
                # line (DeepState redrawing the line itself) raises nothing.
                "precision_m": p["mean_width_m"] / 2,
                "change": p["type"],
            })
            rows.append({"type": "Feature", "id": p["id"], "geometry": ev["geometry"],
                         "properties": props})
            stats["sightings"] += 1
            stats[side] += 1
    rows.sort(key=lambda r: (r["properties"]["time"], r["id"]))
    stats["last_time"] = rows[-1]["properties"]["time"] if rows else a.after
    with open(a.out, "w") as f:
        for r in rows:
            f.write(json.dumps(r, sort_keys=True) + "\n")
    with open(a.stats, "w") as f:
        json.dump(stats, f, sort_keys=True)


# ---------------------------------------------------------------------------------------------
# ground truth and the side check


def cmd_gtpoints(a):
    with open(a.gt) as f:
        gt = json.load(f)
    with open(a.out, "w") as f:
        for i, feat in enumerate(gt["features"]):
            f.write(json.dumps({"type": "Feature", "id": "gt%02d" % i, "geometry": feat["geometry"],
                                "properties": {"name": feat["properties"]["name"],
                                               "time": "2023-10-02T00:00:00Z"}}) + "\n")
        for name, lon, lat, held in SIDE_CHECK:
            f.write(json.dumps({"type": "Feature", "id": "check-" + name,
                                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                                "properties": {"name": name, "held_by": held,
                                               "time": "2023-10-02T00:00:00Z"}}) + "\n")


def cmd_sidecheck(a):
    bad = 0
    with open(a.located) as f:
        for line in f:
            feat = json.loads(line)
            p = feat["properties"]
            if "held_by" not in p:
                continue
            ok = p["lw_side"] == p["held_by"] and not p["lw_beyond_end"]
            bad += not ok
            print("  %-13s %7.3f %6.3f  held by %s, linewatch locate: %s side, %5.1f km from the line"
                  " at km %.0f  %s" % (p["name"], feat["geometry"]["coordinates"][0],
                                       feat["geometry"]["coordinates"][1], p["held_by"],
                                       p["lw_side"], p["lw_distance_m"] / 1000, p["lw_km"],
                                       "ok" if ok else "WRONG"))
    if bad:
        die("the line's sides are wrong for %d reference points" % bad)


# ---------------------------------------------------------------------------------------------
# report

SHORT_CUTS = (" (", ":", ",", " before ", " after ", " outside ", " west of ")


def short_name(name):
    s = re.sub(r"^(Battle of |Ukrainian )", "", name)
    if ", " in s:
        s = s[s.rindex(", ") + 2:]
    for cut in SHORT_CUTS:
        i = s.find(cut)
        if i > 0:
            s = s[:i]
    return s


def party_of(attacker):
    if not attacker:
        return None
    return "UA" if attacker.startswith("Ukrain") else "RU"


def dist_km(lon1, lat1, lon2, lat2):
    # Haversine on a 6371 km sphere: only used to name the nearest ground-truth point.
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def in_box(lon, lat, b):
    return b[0] <= lon <= b[2] and b[1] <= lat <= b[3]


class GT:
    def __init__(self, i, feat, located):
        p = feat["properties"]
        self.i = i
        self.label = ""  # "#1" for the first offensive, "Q1" for the first quiet sector
        self.name = p["name"]
        self.short = short_name(p["name"])
        self.kind = p["kind"]
        self.party = party_of(p.get("attacker"))
        self.start = p["start"]
        self.end = p.get("end")
        self.bbox = p["bbox"]
        self.lon, self.lat = feat["geometry"]["coordinates"][:2]
        self.loc = located.get("gt%02d" % i, {})

    def period(self, data_end):
        s = self.start + "T00:00:00Z"
        e = (self.end or data_end[:10]) + "T23:59:59.999999Z"
        return s, e


class Run:
    def __init__(self, out_path, summary_path, stats_path):
        with open(out_path) as f:
            fc = json.load(f)
        with open(summary_path) as f:
            self.summary = json.load(f)
        with open(stats_path) as f:
            self.stats = json.load(f)
        self.episodes = []
        self.points = []
        for feat in fc["features"]:
            if feat["geometry"]["type"] == "Point":
                self.points.append(feat)
            else:
                self.episodes.append(feat)
        self.by_episode = collections.defaultdict(list)
        for pt in self.points:
            if pt["properties"]["episode"] is not None:
                self.by_episode[pt["properties"]["episode"]].append(pt)
        self.ep = {e["properties"]["id"]: e for e in self.episodes}


NEAR_KM = 30


def place_of(lon, lat, places):
    best = min(places, key=lambda g: (dist_km(lon, lat, g.lon, g.lat), g.i))
    return best, dist_km(lon, lat, best.lon, best.lat)


def near(lon, lat, places):
    g, d = place_of(lon, lat, places)
    if d > NEAR_KM:
        return "no ground-truth place within %d km" % NEAR_KM
    return "%.0f km from %s" % (d, g.short)


def centroid(points):
    xs = [p["geometry"]["coordinates"][0] for p in points]
    ys = [p["geometry"]["coordinates"][1] for p in points]
    return sum(xs) / len(xs), sum(ys) / len(ys)


def fmt_num(x, nd=1):
    return ("%." + str(nd) + "f") % x


def sector_range(sectors):
    # ["S061","S062","S064"] -> "S061–S062, S064"
    nums = sorted(int(s[1:]) for s in sectors)
    width = len(sectors[0]) - 1
    out, lo, prev = [], nums[0], nums[0]
    for n in nums[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(("S%0*d" % (width, lo)) + (("–S%0*d" % (width, prev)) if prev != lo else ""))
        if n is not None:
            lo = prev = n
    return ", ".join(out)


def print_summary(run, title):
    s = run.summary
    r, v, e = s["records"], s["violations"], s["episodes"]
    st = run.stats
    print("%s: %d change events, %d flagged likely_artifact dropped, %d before the line dropped;"
          " %d sightings (%d occupied-area gains: RU, %d losses: UA)" % (
              title, st.get("events", 0), st.get("dropped_artifact", 0),
              st.get("dropped_before_line", 0), st.get("sightings", 0), st.get("RU", 0),
              st.get("UA", 0)))
    print("  records:    read %d, accepted %d, rejected %d, duplicate %d, unattributed %d,"
          " beyond_end %d" % (r["read"], r["accepted"], r["rejected"], r["duplicate"],
                              r["unattributed"], r["beyond_end"]))
    byp = collections.Counter(pt["properties"]["party"] for pt in run.points)
    print("  violations: %d incursion (%s), %d crossing, %d fire, %d buffer; the other %d changes"
          " are on their party's own side of the line or not certainly past it" % (
              v["incursion"], ", ".join("%s %d" % kv for kv in sorted(byp.items())),
              v["crossing"], v["fire"], v["buffer"],
              r["accepted"] - r["unattributed"] - r["beyond_end"]
              - v["incursion"] - v["crossing"] - v["fire"] - v["buffer"]))
    print("  episodes:   %d sustained_offensive, %d sustained_bombardment, %d escalation;"
          " %d isolated violations" % (e["sustained_offensive"], e["sustained_bombardment"],
                                       e["escalation"], s["isolated"]))


def print_consistency(run, policy_path, title):
    problems = consistency(run, read_policy(policy_path))
    if not problems:
        print("Consistency (%s): the %d episodes and %d violations re-derived from the violation"
              " Features (cells, hot cells, joins, figures) agree with linewatch." % (
                  title, len(run.episodes), len(run.points)))
        return 0
    print("Consistency (%s): %d disagreements between linewatch's episodes and its violations:" % (
        title, len(problems)))
    for pr in problems[:20]:
        print("  " + pr)
    return len(problems)


def print_episodes(run, places, sector_mid, only=None):
    for feat in run.episodes:
        p = feat["properties"]
        if only and not only(p):
            continue
        pts = run.by_episode[p["id"]]
        # Where on the line: the middle of its chainage range.
        mid = sector_mid(p["km_from"], p["km_to"])
        cx, cy = centroid(pts)
        c = p["criteria"]
        sig, de, su = c["significant"], c["deliberate"], c["sustained"]
        print("  %-26s %-19s %s  %s .. %s  %s, km %s–%s" % (
            p["id"], p["class"], p["party"], day(p["start"]), day(p["end"]),
            sector_range(p["sectors"]), fmt_num(p["km_from"], 0), fmt_num(p["km_to"], 0)))
        print("      line at %.3f,%.3f (%s); changes centred at %.3f,%.3f (%s)" % (
            mid[0], mid[1], near(mid[0], mid[1], places), cx, cy, near(cx, cy, places)))
        print("      significant %s (score %s/%s, depth %.1f/%.1f km, %.1f/%s km²); deliberate %s"
              " (%d/%d changes); sustained %s (%d/%d hot weeks)" % (
                  "yes" if sig["holds"] else "no", fmt_num(sig["score"], 0),
                  fmt_num(sig["min_score"], 0), sig["max_depth_m"] / 1000,
                  sig["min_depth_m"] / 1000, sig["strength"], fmt_num(sig["min_strength"], 0),
                  "yes" if de["holds"] else "no", de["ground"], de["min_ground"],
                  "yes" if su["holds"] else "no", su["hot_windows"], su["min_hot_windows"]))


def matches(run, g, s, e, party=None):
    """Violations in g's box from s to e (of party, if given), and the episodes they belong to."""
    hits = []
    for pt in run.points:
        p = pt["properties"]
        if party and p["party"] != party:
            continue
        if not (s <= p["time"] <= e):
            continue
        lon, lat = pt["geometry"]["coordinates"][:2]
        if in_box(lon, lat, g.bbox):
            hits.append(pt)
    eps = collections.Counter(pt["properties"]["episode"] for pt in hits
                              if pt["properties"]["episode"] is not None)
    return hits, eps


def gt_verdict(run, g, data_start, data_end):
    s, e = g.period(data_end)
    if e < data_start or s > data_end:
        return "-", "outside the data (%s .. %s)" % (data_start[:10], data_end[:10])
    if g.kind == "quiet":
        hits, eps = matches(run, g, s, e)
        if not eps:
            return "ok", "quiet: no episode; %d isolated violations in the box" % len(hits)
        best = max(eps, key=lambda x: (CLASS_RANK[run.ep[x]["properties"]["class"]], eps[x], x))
        return "FLAGGED", "%d episode(s), e.g. %s %s (%d of its violations in the box)" % (
            len(eps), run.ep[best]["properties"]["class"], best, eps[best])
    hits, eps = matches(run, g, s, e, g.party)
    if not eps:
        note = "" if hits else "; nothing past the line there"
        return "missed", "no %s episode; %d isolated %s violations in the box%s" % (
            g.party, len(hits), g.party, note)
    order = sorted(eps, key=lambda x: (-CLASS_RANK[run.ep[x]["properties"]["class"]], -eps[x], x))
    best = run.ep[order[0]]["properties"]["class"]
    want = g.kind
    verdict = "found" if best == want or CLASS_RANK.get(best, 0) > CLASS_RANK.get(want, 0) else "weaker"
    iso = sum(1 for pt in hits if pt["properties"]["episode"] is None)
    desc = "; ".join("%s %s (%d)" % (run.ep[x]["properties"]["class"], x, eps[x]) for x in order[:3])
    if len(order) > 3:
        desc += "; +%d more" % (len(order) - 3)
    return verdict, "%s; %d in episodes, %d isolated" % (desc, len(hits) - iso, iso)


def print_gt_table(run, gts, data_start, data_end):
    print("  %-4s %-36s %-10s %-3s %-10s %-10s %-8s %s" % (
        "case", "ground truth", "kind", "by", "from", "to", "result", "episodes (violations in box and period)"))
    for g in gts:
        v, desc = gt_verdict(run, g, data_start, data_end)
        name = g.short if len(g.short) <= 36 else g.short[:35] + "…"
        print("  %-4s %-36s %-10s %-3s %-10s %-10s %-8s %s" % (
            g.label, name, "quiet" if g.kind == "quiet" else g.kind.replace("sustained_offensive", "offensive"),
            g.party or "-", g.start, g.end or "open", v, desc))
        if g.loc and v not in ("-",):
            where = "beyond a free end" if g.loc.get("lw_beyond_end") else "km %.0f" % g.loc["lw_km"]
            if g.loc["lw_distance_m"] > 25000:
                print("       (its point is %.0f km from the agreed line, on the %s side, nearest at %s)" % (
                    g.loc["lw_distance_m"] / 1000, g.loc["lw_side"], where))


def monthly(run, g, party, start, end):
    rows = collections.OrderedDict()
    for pt in sorted(run.points, key=lambda x: (x["properties"]["time"], x["properties"]["id"])):
        p = pt["properties"]
        if p["party"] != party or not (start <= p["time"] < end):
            continue
        lon, lat = pt["geometry"]["coordinates"][:2]
        if not in_box(lon, lat, g.bbox):
            continue
        r = rows.setdefault(p["time"][:7], {"n": 0, "km2": 0.0, "depth": 0.0, "cls": collections.Counter()})
        r["n"] += 1
        r["km2"] += p["strength"]
        r["depth"] = max(r["depth"], p["depth_m"])
        r["cls"][p["class"]] += 1
    for m, r in rows.items():
        cls = ", ".join("%d %s" % (n, c) for c, n in sorted(r["cls"].items(), key=lambda x: (-CLASS_RANK.get(x[0], 0), x[0])))
        print("    %s  %3d %s incursions, %6.1f km², deepest point %5.1f km past the line: %s" % (
            m, r["n"], party, r["km2"], r["depth"] / 1000, cls))


def focus(run, name, g, start, end):
    print("%s: %s box %s, %s .. %s" % (name, g.short, g.bbox, start[:10], end[:10]))
    hits, eps = matches(run, g, start, end, g.party)
    hits = [h for h in hits if h["properties"]["time"] < end]
    eps = collections.Counter(h["properties"]["episode"] for h in hits if h["properties"]["episode"])
    print("  by month (%s violations inside the box):" % g.party)
    monthly(run, g, g.party, start, end)
    if not eps:
        print("  no episode")
        return
    print("  episodes with violations in the box in that period (count in the box):")
    for x in sorted(eps, key=lambda x: (run.ep[x]["properties"]["start"], x)):
        print("    %-26s %-19s %s .. %s, %d of its %d violations in the box" % (
            x, run.ep[x]["properties"]["class"], day(run.ep[x]["properties"]["start"]),
            day(run.ep[x]["properties"]["end"]), eps[x], run.ep[x]["properties"]["violations"]))


def cmd_report(a):
    with open(a.gt) as f:
        gtfc = json.load(f)
    located = {}
    with open(a.gt_located) as f:
        for line in f:
            feat = json.loads(line)
            located[feat["id"]] = feat["properties"]
    gts = [GT(i, feat, located) for i, feat in enumerate(gtfc["features"])]
    counts = collections.Counter()
    for g in gts:
        q = g.kind == "quiet"
        counts[q] += 1
        g.label = ("Q%d" if q else "#%d") % counts[q]

    def case(pred, what):
        for g in gts:
            if pred(g):
                return g
        die("ground_truth.geojson has no " + what)
    ds = Run(a.deepstate, a.deepstate_summary, a.deepstate_stats)
    nz = Run(a.nzz, a.nzz_summary, a.nzz_stats) if a.nzz else None
    data_start, data_end = a.after, ds.stats["last_time"]
    # Places to name a stretch of the line by: the ground-truth points whose period overlaps
    # the data and whose box is a sector (not a whole front or border).
    places = [g for g in gts if g.period(data_end)[1] >= data_start
              and g.period(data_end)[0] <= data_end
              and (g.bbox[2] - g.bbox[0]) * (g.bbox[3] - g.bbox[1]) < 1.0]

    with open(a.sectors) as f:
        sectors = json.load(f)["features"]

    def sector_mid(km_from, km_to):
        mid = (km_from + km_to) / 2
        for s in sectors:
            p = s["properties"]
            if p["km_from"] <= mid <= p["km_to"]:
                c = s["geometry"]["coordinates"]
                return c[len(c) // 2]
        c = sectors[-1]["geometry"]["coordinates"]
        return c[-1]

    print()
    print("== DeepStateMap territorial changes after the agreed line of %s ==" % data_start[:10])
    print_summary(ds, "DeepStateMap")
    print()
    print("Episodes (DeepStateMap), in linewatch's order:")
    print_episodes(ds, places, sector_mid)
    print()
    problems = print_consistency(ds, a.policy, "DeepStateMap")

    print()
    print("== Near Avdiivka, Oct 2023 – Feb 2024 (DeepStateMap) ==")
    avd = case(lambda g: g.kind != "quiet" and "Avdiivka" in g.name and g.start.startswith("2023"),
               "Battle of Avdiivka (2023)")
    pok = case(lambda g: g.kind != "quiet" and g.name.startswith("Pokrovsk"), "Pokrovsk offensive")
    q4 = [g for g in gts if g.kind == "quiet" and g.name.startswith("Pokrovsk")]
    focus(ds, "Avdiivka", avd, "2023-10-01T00:00:00Z", "2024-03-01T00:00:00Z")
    print()
    print("== Pokrovsk, 2024 (DeepStateMap) ==")
    focus(ds, "Pokrovsk axis", pok, "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")
    if q4:
        print()
        focus(ds, "Pokrovsk city", with_party(q4[0], "RU"),
              "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")

    print()
    print("== Ground truth (ground_truth.geojson) against DeepStateMap episodes ==")
    print("  (an episode matches a case when one of its violations, of the attacking party, lies in")
    print("   the case's box within its dates; for a quiet case, any episode of either party.")
    print("   found: a match of the case's class or higher; weaker: escalations only; missed: none;")
    print("   ok: a quiet case with no episode; FLAGGED: a quiet case with one)")
    print_gt_table(ds, gts, data_start, data_end)

    if nz:
        print()
        print("== Cross-check: NZZ maps (data by Liveuamap), same line and policy ==")
        print_summary(nz, "NZZ/Liveuamap")
        print()
        print("Sustained offensives (NZZ/Liveuamap):")
        print_episodes(nz, places, sector_mid, only=lambda p: p["class"] == "sustained_offensive")
        print()
        print("Near Avdiivka and on the Pokrovsk axis (NZZ/Liveuamap):")
        focus(nz, "Avdiivka", avd, "2023-10-01T00:00:00Z", "2024-03-01T00:00:00Z")
        focus(nz, "Pokrovsk axis", pok, "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")
        print()
        print("Ground truth against NZZ/Liveuamap episodes:")
        print_gt_table(nz, gts, data_start, data_end)
        print()
        problems += print_consistency(nz, a.policy, "NZZ/Liveuamap")
    if problems:
        sys.exit("realcheck: linewatch's episodes disagree with its own violations (above)")


def read_policy(path):
    """The few scalar keys the consistency check needs, from a flat YAML file."""
    pol = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            m = re.match(r"^([a-z_]+):\s*([^{}\s]+)$", line)
            if m:
                pol[m.group(1)] = m.group(2)
    return pol


def duration_s(v):
    m = re.match(r"^(\d+)([dhms])$", v)
    if not m:
        return None
    return int(m.group(1)) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[m.group(2)]


def precision_of(p):
    """A violation's precision_m. linewatch's violation Features do not repeat it (SPEC §5), but
    they carry the sighting's other properties, mean_width_m among them, of which
    cmd_sightings made the precision: half of it."""
    if p.get("precision_m") is not None:
        return p["precision_m"]
    return p.get("mean_width_m", 0) / 2


def consistency(run, pol):
    """Re-derive cells, episodes and their figures from linewatch's own violation Features
    (--evidence --isolated) and say where they disagree with its episodes. This checks the
    aggregation (SPEC §4), not the geometry."""
    win = duration_s(pol.get("window", "24h"))
    try:
        hot = round(float(pol.get("hot_score", "4")) * 1e6)
        js = int(pol.get("join_sectors", "1"))
        jg = int(pol.get("join_gap_windows", "1"))
        origin = parse_time(pol.get("window_origin", "1970-01-01T00:00:00Z"))
    except ValueError:
        win = None
    if win is None:
        return ["policy too complex for the consistency check: skipped"]
    problems = []
    cells = collections.defaultdict(list)
    for pt in run.points:
        p = pt["properties"]
        w = int((parse_time(p["time"]) - origin).total_seconds() // win)
        cells[(p["party"], int(p["sector"][1:]), w)].append(pt)
        if p["type"] == "incursion" and p["depth_m"] - precision_of(p) <= 0:
            problems.append("%s: an incursion not certainly past the line (depth %s m, precision %s m)"
                            % (p["id"], p["depth_m"], precision_of(p)))
    score = {k: sum(round(pt["properties"]["weight"] * 1e6) for pt in v) for k, v in cells.items()}
    hotc = sorted(k for k in cells if score[k] >= hot)
    parent = {k: k for k in hotc}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k
    by_party = collections.defaultdict(list)
    for k in hotc:
        by_party[k[0]].append(k)
    for ks in by_party.values():
        for i, a in enumerate(ks):
            for b in ks[i + 1:]:
                if b[1] - a[1] > js:
                    break
                if abs(a[2] - b[2]) <= jg + 1:
                    parent[find(a)] = find(b)
    comps = collections.defaultdict(list)
    for k in hotc:
        comps[find(k)].append(k)
    seen = set()
    for ks in comps.values():
        pts = [pt for k in ks for pt in cells[k]]
        eps = {pt["properties"]["episode"] for pt in pts}
        if len(eps) != 1 or None in eps:
            problems.append("hot cells %s hold violations of episodes %s" % (sorted(ks)[:3], sorted(map(str, eps))))
            continue
        eid = eps.pop()
        seen.add(eid)
        e = run.ep.get(eid)
        if e is None:
            problems.append("%s: named by violations, not among the episodes" % eid)
            continue
        p = e["properties"]
        ground = [pt["properties"] for pt in pts if pt["properties"]["type"] in ("incursion", "crossing")]
        want = {
            "violations": len(pts),
            "hot_windows": len({k[2] for k in ks}),
            "strength": round(sum(g["strength"] for g in ground), 4),
            "score": sum(round(pt["properties"]["weight"] * 1e6) for pt in pts) / 1e6,
            "max_depth_m": max([g["depth_m"] - precision_of(g) for g in ground] or [0]),
        }
        for key, v in want.items():
            got = p[key]
            if abs(got - v) > (0.0021 if key == "max_depth_m" else 1e-6):
                problems.append("%s: %s is %s, its violations give %s" % (eid, key, got, v))
    for eid in run.ep:
        if eid not in seen:
            problems.append("%s: no hot cell of its own among the violations" % eid)
    for k, v in cells.items():
        if score[k] < hot and any(pt["properties"]["episode"] is not None for pt in v):
            problems.append("cell %s is not hot but its violations are in an episode" % (k,))
    return problems


def with_party(g, party):
    c = copy.copy(g)
    c.party = party
    return c


def main():
    ap = argparse.ArgumentParser(prog="realcheck.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("line")
    s.add_argument("frontline")
    s.add_argument("out")
    s = sub.add_parser("sightings")
    s.add_argument("changes")
    s.add_argument("out")
    s.add_argument("--after", required=True)
    s.add_argument("--stats", required=True)
    s = sub.add_parser("gtpoints")
    s.add_argument("gt")
    s.add_argument("out")
    s = sub.add_parser("sidecheck")
    s.add_argument("located")
    s = sub.add_parser("report")
    s.add_argument("--gt", required=True)
    s.add_argument("--gt-located", required=True)
    s.add_argument("--sectors", required=True)
    s.add_argument("--after", required=True)
    s.add_argument("--policy", required=True)
    s.add_argument("--deepstate", required=True)
    s.add_argument("--deepstate-summary", required=True)
    s.add_argument("--deepstate-stats", required=True)
    s.add_argument("--nzz")
    s.add_argument("--nzz-summary")
    s.add_argument("--nzz-stats")
    a = ap.parse_args()
    {"line": cmd_line, "sightings": cmd_sightings, "gtpoints": cmd_gtpoints,
     "sidecheck": cmd_sidecheck, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
