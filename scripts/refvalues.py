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
import subprocess
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


def key(p):
    """One spelling per place: longitude -180 is 180; a pole has longitude 0."""
    lon, lat = p
    if abs(lat) == 90:
        return (0.0, lat)
    return (180.0 if lon == -180 else lon, lat)


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
        # indices; None at a free end). A stretch end at the place where the
        # next stretch starts is one vertex: the junction. A closed stretch
        # (a ring) has its first and last point as one vertex too.
        self.verts = []
        for si, st in enumerate(stretches):
            c = st["coords"]
            first = sum(len(s["coords"]) - 1 for s in stretches[:si])
            closed = key(c[0]) == key(c[-1])
            for i, p in enumerate(c):
                if i == 0 and si > 0 and key(stretches[si - 1]["coords"][-1]) == key(p):
                    continue  # the junction, listed with the previous stretch
                if i == len(c) - 1 and closed:
                    continue  # the ring's first point
                vin = first + i - 1 if i > 0 else None
                vout = first + i if i < len(c) - 1 else None
                if i == 0 and closed:
                    vin = first + len(c) - 2  # the ring's last segment
                if i == len(c) - 1 and si + 1 < len(stretches) and key(stretches[si + 1]["coords"][0]) == key(p):
                    vout = first + i  # first segment of the next stretch
                self.verts.append({"p": p, "in": vin, "out": vout})
        self.free_ends = [v for v in self.verts if v["in"] is None or v["out"] is None]
        # Other shared ends (end to end, but reversed) would need a rule; the
        # fixtures have none.
        ends = [key(s["coords"][0]) for s in stretches] + [key(s["coords"][-1]) for s in stretches]
        for v in self.free_ends:
            if ends.count(key(v["p"])) > 1:
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
    """Cheap distance (great circle on the mean sphere, within 0.6 % of the
    geodesic, across the antimeridian and the poles too): prefilter only."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 6371008.8 * 2 * math.asin(min(1.0, math.sqrt(h)))


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
            vd[key(v["p"])] = (inv["s12"], inv["azi1"])
    ub = min(d for d, _ in vd.values())

    def margin(d):
        return max(2.0, 0.002 * d)

    # Local minima: (d, order, km_m, side, stretch, seg, nearest, vertex or None)
    minima = []
    for v in line.verts:
        if key(v["p"]) not in vd:
            continue
        d, beta = vd[key(v["p"])]
        if d > ub + margin(ub):
            continue
        ok = True
        if v["out"] is not None and math.cos(math.radians(beta - segs[v["out"]]["azi1"])) > 0:
            ok = False  # the outgoing segment comes closer
        if v["in"] is not None and math.cos(math.radians(beta - segs[v["in"]]["azi2"])) < 0:
            ok = False  # the incoming segment comes closer
        if not ok:
            continue
        # The earlier of the segments meeting there owns the vertex: the one
        # that ends there, except at a ring's first point.
        owner = min(x for x in (v["in"], v["out"]) if x is not None)
        sg = segs[owner]
        km = sg["m0"] + (sg["len"] if owner == v["in"] else 0.0)
        minima.append((d, owner, km, side_of(line.vertex_dir(v), beta),
                       sg["stretch"], sg["seg"], v["p"], v))
    for gi, sg in enumerate(segs):
        da = vd.get(key(sg["a"]), (None,))[0]
        db = vd.get(key(sg["b"]), (None,))[0]
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
    if not minima:
        # A point square to a segment's direction within a millimetre of
        # its end: the vertex test and the segment's minimum each leave it
        # to the other.
        return None
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
        de, beta = vd.get(key(e), (None, None))
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


# --- crossings: where a pair's geodesic first meets the line ---

A_WGS = 6378137.0
F_WGS = 1 / 298.257223563
E2_WGS = F_WGS * (2 - F_WGS)


def unit_ecef(lon, lat):
    """Direction from the Earth's centre to a point of the surface."""
    p, l = math.radians(lat), math.radians(lon)
    n = 1 / math.sqrt(1 - E2_WGS * math.sin(p) ** 2)
    v = (n * math.cos(p) * math.cos(l), n * math.cos(p) * math.sin(l), n * (1 - E2_WGS) * math.sin(p))
    r = math.sqrt(sum(c * c for c in v))
    return tuple(c / r for c in v)


def vcross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def vdot(a, b):
    return sum(x * y for x, y in zip(a, b))


def may_meet(a, b, p, q, len1, len2):
    """A prefilter: each arc's ends lie on either side of the other's great
    ellipse (the plane through the Earth's centre), or near it: within what
    a geodesic strays from its great ellipse (~7e-11 s^2 m), ten times over."""
    ua, ub, up, uq = (unit_ecef(*x) for x in (a, b, p, q))
    margin = 10 * (1 + 7e-11 * (len1 ** 2 + len2 ** 2)) / A_WGS

    def apart(n, x, y):
        r = math.sqrt(vdot(n, n))
        sx, sy = vdot(n, x) / r, vdot(n, y) / r
        return sx > margin and sy > margin or sx < -margin and sy < -margin
    if apart(vcross(ua, ub), up, uq) or apart(vcross(up, uq), ua, ub):
        return False
    # Not the meeting on the far side of the Earth.
    mid1, mid2 = [u + v for u, v in zip(ua, ub)], [u + v for u, v in zip(up, uq)]
    return vdot(mid1, mid2) > 0


def geodesicproj(args, lines):
    """Run GeographicLib's GeodesicProj (from geographiclib-tools) on lines."""
    out = subprocess.run(["GeodesicProj", *args, "-p", "9"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return [[float(x) for x in row.split()] for row in out if row.strip()]


def gnomonic(c, pts):
    """Ellipsoidal gnomonic projection centred on c: x, y in metres."""
    rows = geodesicproj(["-g", repr(c[1]), repr(c[0])], ["%r %r" % (p[1], p[0]) for p in pts])
    return [(r[0], r[1]) for r in rows]


def gnomonic_reverse(c, x, y):
    r = geodesicproj(["-g", repr(c[1]), repr(c[0]), "-r"], ["%r %r" % (x, y)])[0]
    return (r[1], r[0])


def meet(a, b, p, q):
    """Where the geodesics ab and pq meet, by Karney's method (Algorithms for
    geodesics, 2013, section 8): centre the gnomonic projection on a guess,
    intersect the straight lines the ends project to, take the point back as
    the next guess. Returns the point and whether it lies on both segments,
    or None if the iteration finds no meeting."""
    # A first guess: where the great circles through the ends meet.
    n = vcross(vcross(unit_ecef(*a), unit_ecef(*b)), vcross(unit_ecef(*p), unit_ecef(*q)))
    mid = [sum(c) for c in zip(*(unit_ecef(*x) for x in (a, b, p, q)))]
    if vdot(n, mid) < 0:
        n = tuple(-c for c in n)
    c = (math.degrees(math.atan2(n[1], n[0])), math.degrees(math.atan2(n[2], math.hypot(n[0], n[1]))))
    for _ in range(40):
        (ax, ay), (bx, by), (px, py), (qx, qy) = gnomonic(c, [a, b, p, q])
        den = (bx - ax) * (qy - py) - (by - ay) * (qx - px)
        if den == 0:
            return None
        u = ((px - ax) * (qy - py) - (py - ay) * (qx - px)) / den
        x, y = ax + u * (bx - ax), ay + u * (by - ay)
        if math.hypot(x, y) < 1e-7:
            def within(x1, y1, x2, y2):
                return x1 * x2 + y1 * y2 <= 0 or math.hypot(x1, y1) < 1e-6 or math.hypot(x2, y2) < 1e-6
            return c, within(ax, ay, bx, by) and within(px, py, qx, qy)
        c = gnomonic_reverse(c, x, y)
    return None


def off_geodesic(a, b, x):
    """How far x lies from the geodesic through a and b, metres: the reduced
    length from a to x times the sine of the angle at a between them."""
    to_b = G.Inverse(a[1], a[0], b[1], b[0])
    to_x = G.Inverse(a[1], a[0], x[1], x[0], Geodesic.STANDARD | Geodesic.REDUCEDLENGTH)
    return abs(to_x["m12"] * math.sin(math.radians(to_x["azi1"] - to_b["azi1"])))


def first_meeting(line, a, b):
    """The meeting of the pair's geodesic with the line nearest a, and how many
    times they meet, checked: the point lies on both geodesics to 10 µm."""
    pair_len = G.Inverse(a[1], a[0], b[1], b[0])["s12"]
    found = []
    for gi, sg in enumerate(line.segs):
        if min(approx_m(*a, *sg["a"]), approx_m(*b, *sg["a"])) > pair_len + sg["len"] + 1000:
            continue
        if not may_meet(a, b, sg["a"], sg["b"], pair_len, sg["len"]):
            continue
        m = meet(a, b, sg["a"], sg["b"])
        if m is None or not m[1]:
            continue
        x = m[0]
        for ends in ((a, b), (sg["a"], sg["b"])):
            if off_geodesic(*ends, x) > 1e-5:
                sys.exit(f"refvalues: crossing {x} is {off_geodesic(*ends, x)} m off the geodesic {ends}")
        along = G.Inverse(a[1], a[0], x[1], x[0])["s12"]
        found.append((along, gi, x))
    if not found:
        return None, 0
    found.sort()
    along, gi, x = found[0]
    sg = line.segs[gi]
    km = (sg["m0"] + G.Inverse(sg["a"][1], sg["a"][0], x[1], x[0])["s12"]) / 1000
    return {"lon": x[0], "lat": x[1], "km": km, "stretch": sg["stretch"], "segment": sg["seg"],
            "from_a_m": along}, len(found)


def crossing_pairs(line, rng, n, ends):
    """Pairs through a point of the line at angles from grazing (1 degree) to
    square, 200 m to 1000 km long, and pairs passing a free end."""
    for k in range(n):
        if k < ends and line.free_ends:
            v = rng.choice(line.free_ends)
            seg = line.segs[v["out"]] if v["in"] is None else line.segs[v["in"]]
            ext = seg["azi1"] + 180 if v["in"] is None else seg["azi2"]
            x, y = offset(v["p"][0], v["p"][1], ext, rng.uniform(100, 5000))
            azi = ext + rng.choice((90, -90)) + rng.uniform(-20, 20)
            length = loguniform(rng, 200, 20000)
        else:
            sg = rng.choice(line.segs)
            x, y, azi = seg_point(sg, sg["len"] * rng.uniform(0.02, 0.98))
            r = rng.random()
            theta = rng.uniform(1, 5) if r < 0.3 else rng.uniform(5, 30) if r < 0.6 else rng.uniform(30, 90)
            azi += rng.choice((1, -1)) * theta + rng.choice((0, 180))
            length = loguniform(rng, 200, 1000e3)
        f = rng.uniform(0.1, 0.9)
        a = offset(x, y, azi + 180, length * f)
        b = offset(x, y, azi, length * (1 - f))
        yield a, b


def crossings_table(path, lines_dir, plans):
    out = io.StringIO()
    out.write("# scripts/refvalues: GeographicLib %s (Python) and GeodesicProj %s, WGS 84; columns: see "
              "scripts/refvalues.py\n" % (geographiclib_version(), geodesicproj_version()))
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["line", "a_lon", "a_lat", "b_lon", "b_lat", "pair_km", "meets", "lon", "lat", "km", "stretch",
                "segment", "from_a_m"])
    for name, (seed, n, ends) in plans.items():
        line = Line(load(os.path.join(lines_dir, name + ".geojson")))
        rng = random.Random(seed)
        counts = [0, 0]
        for a, b in crossing_pairs(line, rng, n, ends):
            pair_km = G.Inverse(a[1], a[0], b[1], b[0])["s12"] / 1000
            r, meets = first_meeting(line, a, b)
            counts[meets > 1] += 1
            if r is None:
                w.writerow([name, "%.10f" % a[0], "%.10f" % a[1], "%.10f" % b[0], "%.10f" % b[1], "%.4f" % pair_km,
                            0, "", "", "", "", "", ""])
                continue
            w.writerow([name, "%.10f" % a[0], "%.10f" % a[1], "%.10f" % b[0], "%.10f" % b[1], "%.4f" % pair_km,
                        meets, "%.10f" % r["lon"], "%.10f" % r["lat"], "%.7f" % r["km"], r["stretch"],
                        r["segment"], "%.4f" % r["from_a_m"]])
        print(f"crossings {name}: {n} pairs, {counts[1]} meeting the line more than once")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())


def geodesicproj_version():
    return subprocess.run(["GeodesicProj", "--version"], capture_output=True, text=True).stdout.split()[-1]


def main():
    lines_dir = os.path.join(ROOT, "fixtures", "lines")
    ref_dir = os.path.join(ROOT, "fixtures", "reference")
    os.makedirs(ref_dir, exist_ok=True)
    which = set(sys.argv[1:]) or {"points", "lengths", "crossings"}
    plans = {
        "front-2024": (2024, {"on-line": 50, "near-vertex": 60, "bend": 60, "bends": 25,
                              "beyond-end": 40, "junction": 20, "far": 40, "random": 60}),
        "north60": (60, {"on-line": 40, "near-vertex": 45, "bend": 45, "bends": 6,
                         "beyond-end": 40, "far": 40, "random": 50}),
        "antimeridian": (180, {"on-line": 40, "near-vertex": 45, "bend": 45, "bends": 8,
                               "beyond-end": 30, "junction": 20, "far": 40, "random": 50}),
        "polar": (90, {"on-line": 40, "near-vertex": 45, "bend": 40, "bends": 8,
                       "far": 40, "random": 50}),
    }
    if "crossings" in which:
        crossings_table(os.path.join(ref_dir, "crossings.csv"), lines_dir, {
            "front-2024": (2024, 70, 8), "north60": (60, 30, 4), "antimeridian": (180, 30, 4), "polar": (90, 20, 0)})
        print("crossings.csv")
    for name, (seed, counts) in plans.items():
        if "points" not in which:
            break
        line = Line(load(os.path.join(lines_dir, name + ".geojson")))
        rows = table(line, seed, counts)
        write_table(os.path.join(ref_dir, name + ".csv"), rows)
        sides = sum(r["side"] == "left" for r in rows)
        print(f"{name}.csv: {len(rows)} points ({sides} left, {len(rows) - sides} right, "
              f"{sum(r['beyond_end'] for r in rows)} beyond an end), line {line.length / 1000:.3f} km")

    if "lengths" not in which:
        return
    out = io.StringIO()
    out.write("# scripts/refvalues: GeographicLib %s (Python), WGS 84 geodesic lengths\n"
              % geographiclib_version())
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["line", "stretch", "name", "km_from", "km_to", "length_km"])
    for name in ("front-2024", "north60", "straight", "two-stretches", "hairpin", "antimeridian", "polar"):
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
