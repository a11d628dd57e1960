"""Reference values for point-to-line geodesics on the line fixtures.

Run through scripts/refvalues, which makes sure GeographicLib is installed.
Writes, under fixtures/reference/:

  front-2024.csv, north60.csv   one row per probe point:
      lon,lat,distance_m,km,side,stretch,segment,beyond_end,kind,nearest_lon,nearest_lat
  lengths.csv                   line and stretch lengths of every line fixture

Everything is computed on the WGS 84 ellipsoid with GeographicLib
(Karney's geodesic algorithms, accurate to nanometres); the segments of a line
are the geodesics between consecutive vertices (SPEC §1). For a point:

  distance_m  minimum geodesic distance to the line, metres
  km          chainage of the nearest point: geodesic length along the line from
              the start of the first stretch, continuing across stretches
  stretch,    index of the stretch (file order) and of the segment within it
  segment     (segment i joins vertices i and i+1) of the nearest point;
              equidistant: the earlier stretch, then the earlier segment (a
              vertex belongs to the segment that ends there)
  side        left or right, walking the stretch in coordinate order: the sign
              of the azimuth difference between the line and the direction to
              the point, at the nearest point; at an interior vertex, of the
              bisector of the two segment directions; at a stretch's end, of the
              end segment extended
  beyond_end  the nearest point is a free end (a stretch end not shared with
              another stretch), the point lies past it, more than 5000 m away
  kind        what the point probes: on-line (1 cm or 1 m off), near-vertex,
              bend (near the sharpest bends), beyond-end, junction (near where
              two stretches meet), far (10-50 km), random

The probe points are drawn from a seeded generator and rounded to 10 decimals
before anything is computed, so the table is reproducible and exact for the
coordinates it prints. Points whose answer is ill-conditioned are skipped: a
second, separate local minimum of the distance within max(2 m, 0.2 %) of the
nearest one (the chainage and perhaps the side would flip with a tiny error),
a distance within 50 m of end_reach_m at a free end, or a direction within 2
degrees of square to a free end's extension (past the end or not?).
"""

import csv
import io
import json
import math
import os
import random
import sys

from geographiclib.geodesic import Geodesic

G = Geodesic.WGS84
END_REACH_M = 5000.0
MAX_DIST_M = 50000.0
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def load(path):
    """The stretches of a GeoJSON line file, in file order."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    feats = doc["features"] if doc["type"] == "FeatureCollection" else \
        [doc] if doc["type"] == "Feature" else [{"type": "Feature", "properties": {}, "geometry": doc}]
    stretches = []
    for feat in feats:
        props = feat.get("properties") or {}
        geom = feat["geometry"]
        parts = [geom["coordinates"]] if geom["type"] == "LineString" else geom["coordinates"]
        for coords in parts:
            stretches.append({"name": props.get("name", ""), "left": props.get("left"),
                              "right": props.get("right"),
                              "coords": [(float(c[0]), float(c[1])) for c in coords]})
    return stretches


def wrap(a):
    """Angle in degrees to (-180, 180]."""
    a = math.fmod(a, 360.0)
    if a <= -180:
        a += 360
    elif a > 180:
        a -= 360
    return a


class Line:
    def __init__(self, stretches):
        self.stretches = stretches
        self.segs = []  # global list of segments
        km = 0.0
        for si, st in enumerate(stretches):
            c = st["coords"]
            st["m_from"] = km
            for i in range(len(c) - 1):
                (lon1, lat1), (lon2, lat2) = c[i], c[i + 1]
                inv = G.Inverse(lat1, lon1, lat2, lon2)
                gl = G.InverseLine(lat1, lon1, lat2, lon2)
                self.segs.append({"stretch": si, "seg": i, "a": c[i], "b": c[i + 1],
                                  "len": inv["s12"], "azi1": inv["azi1"], "azi2": inv["azi2"],
                                  "line": gl, "m0": km})
                km += inv["s12"]
            st["m_to"] = km
        self.length = km
        # Vertices, each with its incoming and outgoing segment (global
        # indices; None at a free end). A stretch end equal to the next
        # stretch's start is one vertex: the junction.
        self.verts = []
        for si, st in enumerate(stretches):
            c = st["coords"]
            first = sum(len(s["coords"]) - 1 for s in stretches[:si])
            for i, p in enumerate(c):
                if i == 0 and si > 0 and stretches[si - 1]["coords"][-1] == p:
                    continue  # the junction, listed with the previous stretch
                vin = first + i - 1 if i > 0 else None
                vout = first + i if i < len(c) - 1 else None
                if i == len(c) - 1 and si + 1 < len(stretches) and stretches[si + 1]["coords"][0] == p:
                    vout = first + i  # first segment of the next stretch
                self.verts.append({"p": p, "in": vin, "out": vout})
        self.free_ends = [v for v in self.verts if v["in"] is None or v["out"] is None]
        # Other shared ends (end to end, but reversed) would need a rule; the
        # fixtures have none.
        ends = [s["coords"][0] for s in stretches] + [s["coords"][-1] for s in stretches]
        for v in self.free_ends:
            if ends.count(v["p"]) > 1:
                sys.exit("refvalues: stretch ends meet other than end to start")

    def vertex_dir(self, v):
        """Walking direction at a vertex: the bisector, or the end segment's."""
        a_in = self.segs[v["in"]]["azi2"] if v["in"] is not None else None
        a_out = self.segs[v["out"]]["azi1"] if v["out"] is not None else None
        if a_in is None:
            return a_out
        if a_out is None:
            return a_in
        x = math.sin(math.radians(a_in)) + math.sin(math.radians(a_out))
        y = math.cos(math.radians(a_in)) + math.cos(math.radians(a_out))
        return math.degrees(math.atan2(x, y))

    def turn(self, v):
        if v["in"] is None or v["out"] is None:
            return 0.0
        return wrap(self.segs[v["out"]]["azi1"] - self.segs[v["in"]]["azi2"])


def seg_point(seg, s):
    r = seg["line"].Position(s)
    return r["lon2"], r["lat2"], r["azi2"]


def dist(lon1, lat1, lon2, lat2):
    return G.Inverse(lat1, lon1, lat2, lon2)["s12"]


def approx_m(lon1, lat1, lon2, lat2):
    """Cheap distance (spherical, equirectangular): prefilter only."""
    k = math.cos(math.radians((lat1 + lat2) / 2))
    return 6371008.8 * math.radians(math.hypot((lon2 - lon1) * k, lat2 - lat1))


INVPHI = (math.sqrt(5) - 1) / 2


def seg_min(seg, lon, lat):
    """Minimum distance from the point to the segment: (d, s along segment)."""
    a, b = 0.0, seg["len"]

    def f(s):
        x, y, _ = seg_point(seg, s)
        return dist(x, y, lon, lat)

    c = b - INVPHI * (b - a)
    d = a + INVPHI * (b - a)
    fc, fd = f(c), f(d)
    while b - a > 1e-5:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - INVPHI * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + INVPHI * (b - a)
            fd = f(d)
    s = (a + b) / 2
    # Polish with Karney's intercept step: move by the projection of the
    # vector to the point onto the line's direction (the distance is flat at
    # its minimum, so golden section alone pins s down to only ~1 cm far out).
    for _ in range(4):
        x, y, azi = seg_point(seg, s)
        inv = G.Inverse(y, x, lat, lon)
        step = inv["s12"] * math.cos(math.radians(inv["azi1"] - azi))
        s = min(seg["len"], max(0.0, s + step))
        if abs(step) < 1e-7:
            break
    best = (f(s), s)
    for e in (0.0, seg["len"]):  # golden section never evaluates the ends
        fe = f(e)
        if fe <= best[0]:
            best = (fe, e)
    return best


def side_of(direction, azi_to_point):
    return "right" if math.sin(math.radians(azi_to_point - direction)) > 0 else "left"


def locate(line, lon, lat):
    """Reference answer for a point, or None if it is ill-conditioned."""
    segs = line.segs
    # Exact distance to the vertices that may matter.
    approx = [approx_m(v["p"][0], v["p"][1], lon, lat) for v in line.verts]
    maxlen = max(s["len"] for s in segs)
    cutoff = min(approx) * 1.02 + 2 * maxlen + 1000
    vd = {}
    for k, v in enumerate(line.verts):
        if approx[k] <= cutoff:
            inv = G.Inverse(v["p"][1], v["p"][0], lat, lon)
            vd[v["p"]] = (inv["s12"], inv["azi1"])
    ub = min(d for d, _ in vd.values())

    def margin(d):
        return max(2.0, 0.002 * d)

    # Local minima: (d, order, km_m, side, stretch, seg, nearest, vertex or None)
    minima = []
    for v in line.verts:
        if v["p"] not in vd:
            continue
        d, beta = vd[v["p"]]
        if d > ub + margin(ub):
            continue
        ok = True
        if v["out"] is not None and math.cos(math.radians(beta - segs[v["out"]]["azi1"])) > 0:
            ok = False  # the outgoing segment comes closer
        if v["in"] is not None and math.cos(math.radians(beta - segs[v["in"]]["azi2"])) < 0:
            ok = False  # the incoming segment comes closer
        if not ok:
            continue
        owner = v["in"] if v["in"] is not None else v["out"]
        sg = segs[owner]
        km = sg["m0"] + (sg["len"] if v["in"] is not None else 0.0)
        minima.append((d, owner, km, side_of(line.vertex_dir(v), beta),
                       sg["stretch"], sg["seg"], v["p"], v))
    for gi, sg in enumerate(segs):
        da = vd.get(sg["a"], (None,))[0]
        db = vd.get(sg["b"], (None,))[0]
        if da is None or db is None:
            continue
        lb = max(0.0, (da + db - sg["len"]) / 2)
        if lb > ub + margin(ub):
            continue
        d, s = seg_min(sg, lon, lat)
        if s < 1e-3 or s > sg["len"] - 1e-3:
            continue  # a vertex: handled above
        x, y, azi = seg_point(sg, s)
        beta = G.Inverse(y, x, lat, lon)["azi1"]
        minima.append((d, gi, sg["m0"] + s, side_of(azi, beta), sg["stretch"], sg["seg"], (x, y), None))
        ub = min(ub, d)
    minima.sort(key=lambda m: (m[0], m[1]))
    best = minima[0]
    d = best[0]
    for m in minima[1:]:
        if abs(m[2] - best[2]) > 1.0 and m[0] - d < margin(d):
            return None  # two places of the line are nearly as near
    if d > MAX_DIST_M:
        return None
    beyond = False
    for v in line.free_ends:
        e = v["p"]
        de, beta = vd.get(e, (None, None))
        if de is None:
            continue
        seg = segs[v["out"]] if v["in"] is None else segs[v["in"]]
        ext = seg["azi1"] + 180 if v["in"] is None else seg["azi2"]  # pointing away from the line
        ang = abs(wrap(beta - ext))
        if de > END_REACH_M - 50 and abs(ang - 90) < 2:
            return None
        if best[7] is v:
            if abs(d - END_REACH_M) < 50:
                return None
            beyond = ang < 90 and d > END_REACH_M
    return {"lon": lon, "lat": lat, "distance_m": d, "km": best[2] / 1000, "side": best[3],
            "stretch": best[4], "segment": best[5], "beyond_end": beyond,
            "nearest": best[6]}


def rnd(x):
    return round(x, 10)


def offset(lon, lat, azi, d):
    r = G.Direct(lat, lon, azi, d)
    return rnd(r["lon2"]), rnd(r["lat2"])


def loguniform(rng, lo, hi):
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def probes(line, rng, counts):
    """Yield (kind, lon, lat) candidates, as many as wanted of each kind."""
    segs = line.segs
    interior = [v for v in line.verts if v["in"] is not None and v["out"] is not None]
    bends = sorted(interior, key=lambda v: -abs(line.turn(v)))[:counts.get("bends", 20)]
    junctions = [v for v in interior
                 if segs[v["in"]]["stretch"] != segs[v["out"]]["stretch"]]

    def on_segment(lo_frac=0.05, hi_frac=0.95):
        sg = rng.choice(segs)
        x, y, azi = seg_point(sg, sg["len"] * rng.uniform(lo_frac, hi_frac))
        return x, y, azi

    def on_line():
        x, y, azi = on_segment()
        turn = rng.choice((90, -90))
        d = rng.choice((0.01, 1.0))
        lon, lat = offset(x, y, azi + turn, d)
        return lon, lat, {"side": "right" if turn > 0 else "left", "distance_m": d}

    gens = {
        "on-line": on_line,
        "near-vertex": lambda: (lambda v: offset(v["p"][0], v["p"][1], rng.uniform(0, 360),
                                                 loguniform(rng, 0.05, 3000)))(rng.choice(interior)),
        "bend": lambda: bend_point(line, rng, rng.choice(bends)),
        "beyond-end": lambda: end_point(line, rng, rng.choice(line.free_ends)),
        "junction": lambda: (lambda v: offset(v["p"][0], v["p"][1], rng.uniform(0, 360),
                                              loguniform(rng, 0.5, 20000)))(rng.choice(junctions)),
        "far": lambda: (lambda x, y, azi: offset(x, y, azi + rng.choice((90, -90)) + rng.uniform(-30, 30),
                                                 rng.uniform(10000, 50000)))(*on_segment(0, 1)),
        "random": lambda: (lambda x, y, azi: offset(x, y, rng.uniform(0, 360),
                                                    loguniform(rng, 0.05, 50000)))(*on_segment(0, 1)),
    }
    for kind, n in counts.items():
        if kind == "bends" or (kind == "junction" and not junctions):
            continue
        for _ in range(n):
            yield kind, gens[kind]


def bend_point(line, rng, v):
    direction = line.vertex_dir(v)
    inside = direction + (90 if line.turn(v) > 0 else -90)  # a right turn's inside is on the right
    r = rng.random()
    if r < 0.4:
        azi = inside + rng.uniform(-60, 60)
    elif r < 0.8:
        azi = inside + 180 + rng.uniform(-60, 60)
    else:
        azi = rng.uniform(0, 360)
    return offset(v["p"][0], v["p"][1], azi, loguniform(rng, 0.5, 20000))


def end_point(line, rng, v):
    seg = line.segs[v["out"]] if v["in"] is None else line.segs[v["in"]]
    ext = seg["azi1"] + 180 if v["in"] is None else seg["azi2"]
    r = rng.random()
    if r < 0.3:
        d = rng.uniform(10, 4900)  # within end_reach
    elif r < 0.9:
        d = rng.uniform(5100, 50000)
    else:
        d = loguniform(rng, 0.05, 10)
    return offset(v["p"][0], v["p"][1], ext + rng.uniform(-85, 85), d)


def table(line, seed, counts):
    rng = random.Random(seed)
    rows = []
    for kind, gen in probes(line, rng, counts):
        for _ in range(1000):
            lon, lat, *want = gen()
            ref = locate(line, lon, lat)
            if ref is not None:
                break
        else:
            sys.exit(f"refvalues: no well-conditioned {kind} point")
        # Cross-check the machinery where the answer is known by construction.
        for key, value in (want[0] if want else {}).items():
            if key == "distance_m" and abs(ref[key] - value) < 1e-4 or ref[key] == value:
                continue
            sys.exit(f"refvalues: {kind} point {lon},{lat}: {key} {ref[key]}, built as {value}")
        ref["kind"] = kind
        rows.append(ref)
    return rows


def write_table(path, rows):
    out = io.StringIO()
    out.write("# scripts/refvalues: GeographicLib %s (Python), WGS 84; columns: see scripts/refvalues.py\n"
              % geographiclib_version())
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["lon", "lat", "distance_m", "km", "side", "stretch", "segment", "beyond_end", "kind",
                "nearest_lon", "nearest_lat"])
    for r in rows:
        w.writerow(["%.10f" % r["lon"], "%.10f" % r["lat"], "%.4f" % r["distance_m"], "%.7f" % r["km"],
                    r["side"], r["stretch"], r["segment"], "true" if r["beyond_end"] else "false",
                    r["kind"], "%.10f" % r["nearest"][0], "%.10f" % r["nearest"][1]])
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())


def geographiclib_version():
    import geographiclib
    return geographiclib.__version__


def main():
    lines_dir = os.path.join(ROOT, "fixtures", "lines")
    ref_dir = os.path.join(ROOT, "fixtures", "reference")
    os.makedirs(ref_dir, exist_ok=True)
    plans = {
        "front-2024": (2024, {"on-line": 50, "near-vertex": 60, "bend": 60, "bends": 25,
                              "beyond-end": 40, "junction": 20, "far": 40, "random": 60}),
        "north60": (60, {"on-line": 40, "near-vertex": 45, "bend": 45, "bends": 6,
                         "beyond-end": 40, "far": 40, "random": 50}),
    }
    for name, (seed, counts) in plans.items():
        line = Line(load(os.path.join(lines_dir, name + ".geojson")))
        rows = table(line, seed, counts)
        write_table(os.path.join(ref_dir, name + ".csv"), rows)
        sides = sum(r["side"] == "left" for r in rows)
        print(f"{name}.csv: {len(rows)} points ({sides} left, {len(rows) - sides} right, "
              f"{sum(r['beyond_end'] for r in rows)} beyond an end), line {line.length / 1000:.3f} km")

    out = io.StringIO()
    out.write("# scripts/refvalues: GeographicLib %s (Python), WGS 84 geodesic lengths\n"
              % geographiclib_version())
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["line", "stretch", "name", "km_from", "km_to", "length_km"])
    for name in ("front-2024", "north60", "straight", "two-stretches", "hairpin"):
        line = Line(load(os.path.join(lines_dir, name + ".geojson")))
        w.writerow([name, "all", "", "%.7f" % 0, "%.7f" % (line.length / 1000), "%.7f" % (line.length / 1000)])
        for si, st in enumerate(line.stretches):
            w.writerow([name, si, st["name"], "%.7f" % (st["m_from"] / 1000), "%.7f" % (st["m_to"] / 1000),
                        "%.7f" % ((st["m_to"] - st["m_from"]) / 1000)])
    with open(os.path.join(ref_dir, "lengths.csv"), "w", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())
    print("lengths.csv")


if __name__ == "__main__":
    main()
