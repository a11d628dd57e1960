"""Helper of scripts/ucdpcheck: write the UCDP GED events back out as a GED-style CSV, make the
agreed line, check its sides, and report what `linewatch detect` made of the events. Python 3
standard library only.

    ucdpcheck.py attribution
    ucdpcheck.py line       LINE_OF_CONTACT.geojson OUT.geojson LEFT RIGHT
    ucdpcheck.py places     OUT.ndjson
    ucdpcheck.py donetsk    LOCATED.ndjson PARTY      (exit 1 unless Donetsk is on PARTY's side)
    ucdpcheck.py sidecheck  LINE.geojson LOCATED.ndjson
    ucdpcheck.py csv        UCDP.ndjson OUT.csv
    ucdpcheck.py report     (see scripts/ucdpcheck for the arguments)

Data: UCDP Georeferenced Event Dataset (GED) 23.1 of the Uppsala Conflict Data Program, by way of
peacerep/ukraine-map; line of contact derived from DeepStateMap (deepstatemap.live). Nothing of
it is copied into the project: it is read in place from ../shared/data/real and every derived
file goes to a temporary directory.
"""

import argparse
import collections
import csv
import datetime
import json
import sys

ATTRIBUTION = """\
Data: UCDP Georeferenced Event Dataset (GED) 23.1, Uppsala Conflict Data Program (ucdp.uu.se),
  believed CC BY 4.0; cite Sundberg, Ralph & Erik Melander (2013), "Introducing the UCDP
  Georeferenced Event Dataset", Journal of Peace Research 50(4), and Davies, Shawn, Therese
  Pettersson & Magnus Oberg (2023), Journal of Peace Research 60(4). Events taken from the copy
  in peacerep/ukraine-map (data/UCDP-Ukraine.csv). Line of contact derived from DeepStateMap
  (deepstatemap.live); non-commercial testing use."""

# Places of known control under the Minsk agreements: (name, lon, lat, holder). "RU" stands for
# the non-government side (the Russian-backed DPR and LPR and Russian forces).
PLACES = [
    ("Donetsk", 37.80, 48.00, "RU"),
    ("Luhansk", 39.30, 48.57, "RU"),
    ("Horlivka", 38.05, 48.30, "RU"),
    ("Kramatorsk", 37.56, 48.74, "UA"),
    ("Mariupol", 37.55, 47.10, "UA"),
    ("Sievierodonetsk", 38.49, 48.95, "UA"),
]

# GED's columns, in the order of the GED CSV, for the fields the events carry.
GED_COLUMNS = [
    "id", "relid", "year", "type_of_violence", "conflict_name", "dyad_name", "side_a", "side_b",
    "source_office", "source_headline", "where_prec", "where_coordinates", "where_description",
    "adm_1", "adm_2", "latitude", "longitude", "geom_wkt", "country", "region", "event_clarity",
    "date_prec", "date_start", "date_end", "deaths_a", "deaths_b", "deaths_civilians",
    "deaths_unknown", "best", "high", "low",
]
VIOLENCE = {"ucdp_state-based": 1, "ucdp_non-state": 2, "ucdp_one-sided": 3}

WHERE_PREC = {
    "1": "a village or town", "2": "near a place (~25 km)", "3": "a district",
    "4": "a province", "5": "a road, river or area between places", "6": "the country",
    "7": "waters or airspace",
}

MINSK2 = "2015-02-15"  # the Minsk II ceasefire took effect


def cmd_line(args):
    fc = json.load(open(args.src, encoding="utf-8"))
    pieces = []
    for f in fc["features"]:
        g = f["geometry"]
        if f["properties"].get("layer") != "line_of_contact_2015_2022":
            continue
        if g["type"] == "LineString":
            pieces.append(g["coordinates"])
        elif g["type"] == "MultiLineString":
            pieces.extend(g["coordinates"])
    if len(pieces) != 1:
        sys.exit("ucdpcheck: want one line-of-contact piece, found %d" % len(pieces))
    feat = {
        "type": "Feature",
        "properties": {"name": "line of contact 2015-2022", "left": args.left, "right": args.right},
        "geometry": {"type": "LineString", "coordinates": pieces[0]},
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump({"type": "FeatureCollection", "features": [feat]}, fh)


def cmd_places(args):
    with open(args.out, "w", encoding="utf-8") as fh:
        for name, lon, lat, holder in PLACES:
            fh.write(json.dumps({"type": "Feature", "id": name,
                                 "geometry": {"type": "Point", "coordinates": [lon, lat]},
                                 "properties": {"time": "2018-01-01T00:00:00Z", "holder": holder}}) + "\n")


def read_lines(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(l) for l in fh if l.strip()]


def cmd_donetsk(args):
    for f in read_lines(args.located):
        if f["id"] == "Donetsk":
            sys.exit(0 if f["properties"]["lw_side"] == args.party else 1)
    sys.exit(1)


def cmd_sidecheck(args):
    line = json.load(open(args.line, encoding="utf-8"))["features"][0]
    p = line["properties"]
    c = line["geometry"]["coordinates"]
    print("Agreed line: line_of_contact_2015_2022.geojson, its line-of-contact piece: one stretch of "
          "%d vertices, (%.3f, %.3f) to (%.3f, %.3f)" % (len(c), c[0][0], c[0][1], c[-1][0], c[-1][1]))
    print("  left %s, right %s (RU: the non-government side, DPR/LPR and Russian forces)" % (p["left"], p["right"]))
    print("Side check (linewatch locate):")
    bad = 0
    for f in read_lines(args.located):
        q = f["properties"]
        ok = q["lw_side"] == q["holder"]
        bad += not ok
        print("  %-16s (%.2f, %.2f)  %s side, %5.1f km from the line  %s" % (
            f["id"], *f["geometry"]["coordinates"], q["lw_side"], q["lw_distance_m"] / 1000,
            "ok" if ok else "WRONG: held by " + q["holder"]))
    if bad:
        sys.exit("ucdpcheck: the side check failed")


def cmd_csv(args):
    rows = []
    for f in read_lines(args.src):
        p = f["properties"]
        lon, lat = f["geometry"]["coordinates"][:2]
        start = p["time"][:10]
        rows.append({
            "id": p["id"].removeprefix("ucdp-ged-"),
            "relid": p["relid"], "year": start[:4], "type_of_violence": VIOLENCE[p["type"]],
            "conflict_name": p["conflict_name"], "dyad_name": p["dyad_name"],
            "side_a": p["side_a"], "side_b": p["side_b"],
            "source_office": p["source_office"], "source_headline": p["source_headline"],
            "where_prec": p["where_prec"], "where_coordinates": p["where_coordinates"],
            "where_description": p["where_description"], "adm_1": p["adm_1"], "adm_2": p["adm_2"],
            "latitude": lat, "longitude": lon, "geom_wkt": "POINT (%r %r)" % (lon, lat),
            "country": "Ukraine", "region": "Europe", "event_clarity": p["event_clarity"],
            "date_prec": p["date_prec"],
            # GED writes its dates with a midnight time.
            "date_start": start + " 00:00:00.000", "date_end": p["date_end"] + " 00:00:00.000",
            "deaths_a": p["deaths_a"], "deaths_b": p["deaths_b"],
            "deaths_civilians": p["deaths_civilians"], "deaths_unknown": p["deaths_unknown"],
            "best": p["best"], "high": p["high"], "low": p["low"],
        })
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=GED_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    print("GED-style CSV: %d events, %d columns (UCDP's own), dates %s .. %s" % (
        len(rows), len(GED_COLUMNS), min(r["date_start"][:10] for r in rows),
        max(r["date_end"][:10] for r in rows)))


def day(s):
    return datetime.date.fromisoformat(s[:10])


def in_box(coords, bbox):
    return bbox[0] <= coords[0] <= bbox[2] and bbox[1] <= coords[1] <= bbox[3]


def overlaps(a0, a1, b0, b1):
    """[a0, a1) and [b0, b1) overlap (ISO strings)."""
    return a0 < b1 and b0 < a1


CASES = [
    # name, ground-truth name prefix, fallback (start, end, bbox), what is expected
    ("Debaltseve", "Battle of Debaltseve",
     ("2015-01-14", "2015-02-20", [38.20, 48.20, 38.65, 48.45]),
     "an offensive through the Minsk II ceasefire"),
    ("Avdiivka", "Avdiivka escalation 2017",
     ("2017-01-29", "2017-02-05", [37.65, 48.05, 37.90, 48.20]),
     "a ceasefire-violation spike of about a week"),
    ("after the 27 July 2020 ceasefire", "Donbas line of contact after",
     ("2020-07-27", "2020-10-31", [37.522, 47.115, 39.651, 48.776]),
     "quiet: no episode"),
]


def cmd_report(args):
    imp = json.load(open(args.import_summary, encoding="utf-8"))
    summ = json.load(open(args.summary, encoding="utf-8"))
    fc = json.load(open(args.episodes, encoding="utf-8"))
    located = read_lines(args.located)
    gt = {}
    if args.gt:
        for f in json.load(open(args.gt, encoding="utf-8"))["features"]:
            gt[f["properties"]["name"]] = f["properties"]

    episodes = [f["properties"] for f in fc["features"] if "episode" not in f["properties"]]
    viols = [f for f in fc["features"] if "episode" in f["properties"]]
    viol_by_id = {f["properties"]["id"]: f for f in viols}

    r = imp["rows"]
    print()
    print("Import (linewatch import ucdp, defaults): %d rows read, %d imported, %d rejected" % (
        r["read"], r["imported"], r["rejected"]))
    wp = collections.Counter(f["properties"].get("where_prec", "") for f in located)
    prec = {f["properties"].get("where_prec", ""): f["properties"].get("precision_m") for f in located}
    print("  where_prec of the events, with the precision_m it gives:")
    for k in sorted(wp):
        print("    %s  %-40s %7s m  %5d events" % (k, WHERE_PREC.get(k, "?"), prec[k], wp[k]))

    rec, v, ep = summ["records"], summ["violations"], summ["episodes"]
    print("Detect: %d records, %d accepted (%d beyond a free end of the line), %d rejected, %d duplicate" % (
        rec["read"], rec["accepted"], rec["beyond_end"], rec["rejected"], rec["duplicate"]))
    print("  %d fire violations (events that certainly happened past the line: distance into the other"
          % v["fire"])
    print("  side > precision_m), %d of them isolated; %d sustained bombardment, %d escalation, %d sustained offensive"
          % (summ["isolated"], ep["sustained_bombardment"], ep["escalation"], ep["sustained_offensive"]))
    print("  (the other %d events lie within their precision of the line, or beyond its ends: not judged)"
          % (rec["accepted"] - v["fire"]))

    print()
    print("Episodes (all; * = before the Minsk II ceasefire of %s, when this line was not yet agreed):" % MINSK2)
    print("  %-26s %-22s %-10s %-10s %-9s %-11s %5s %6s" % (
        "id", "class", "start", "end", "sectors", "km", "weeks", "events"))
    for e in episodes:
        sec = e["sectors"][0] + ("–" + e["sectors"][-1][1:] if len(e["sectors"]) > 1 else "")
        print("  %-26s %-22s %-10s %-10s %-9s %-11s %5d %6d%s" % (
            e["id"], e["class"], e["start"][:10], e["end"][:10], sec,
            "%g–%g" % (e["km_from"], e["km_to"]), e["hot_windows"], e["violations"],
            " *" if e["start"][:10] < MINSK2 else ""))
    print("  (Before the line, events far from it count too: the Maidan killings in Kyiv, February 2014,")
    print("  fall to the sector nearest Kyiv.)")

    print()
    verdicts = []
    for name, gtname, (start, end, bbox), expected in CASES:
        for k, g in gt.items():
            if k.startswith(gtname):
                start, end, bbox = g["start"], g.get("end") or end, g["bbox"]
        end_excl = (day(end) + datetime.timedelta(days=1)).isoformat()
        print("%s, %s .. %s, box %s (%s):" % (name, start, end, ", ".join("%g" % x for x in bbox), expected))
        evs = [f for f in located if in_box(f["geometry"]["coordinates"], bbox)
               and start <= f["properties"]["time"][:10] < end_excl]
        judged = [f for f in evs if f["id"] in viol_by_id]
        why = collections.Counter()
        for f in evs:
            if f["id"] in viol_by_id:
                continue
            q = f["properties"]
            if q["lw_beyond_end"]:
                why["beyond an end of the line"] += 1
            elif q["lw_distance_m"] <= q.get("precision_m", 0):
                why["within its precision (%s m) of the line" % q.get("precision_m")] += 1
            else:
                why["other"] += 1
        parties = collections.Counter(viol_by_id[f["id"]]["properties"]["party"] for f in judged)
        print("  GED events in the box: %d; judged violations: %d%s" % (
            len(evs), len(judged),
            " (" + ", ".join("%s %d" % kv for kv in sorted(parties.items())) + ")" if judged else ""))
        for w, n in sorted(why.items()):
            print("    not judged, %s: %d" % (w, n))
        found = []
        for e in episodes:
            if not overlaps(e["start"][:10], e["end"][:10], start, end_excl):
                continue
            mine = [f for f in viols if f["properties"]["episode"] == e["id"]]
            if not any(in_box(f["geometry"]["coordinates"], bbox) for f in mine):
                continue
            found.append(e)
        if found:
            for e in found:
                print("  found: %s %s, %s .. %s, sectors %s (km %g–%g), %d hot week%s, %d violations, score %g;" % (
                    e["id"], e["class"], e["start"][:10], e["end"][:10], ", ".join(e["sectors"]),
                    e["km_from"], e["km_to"], e["hot_windows"], "" if e["hot_windows"] == 1 else "s",
                    e["violations"], e["score"]))
                crit = e["criteria"]
                yes = {True: "yes", False: "no"}
                print("    significant: %s (score %g of %g); sustained: %s (%d of %d hot weeks); deliberate: %s (ground %d)" % (
                    yes[crit["significant"]["holds"]], crit["significant"]["score"], crit["significant"]["min_score"],
                    yes[crit["sustained"]["holds"]], crit["sustained"]["hot_windows"], crit["sustained"]["min_hot_windows"],
                    yes[crit["deliberate"]["holds"]], crit["deliberate"]["ground"]))
        else:
            print("  found: no episode")
        verdicts.append((name, found, bbox))
        print()

    print("Findings:")
    deb, avd, quiet = verdicts
    if deb[1]:
        e = deb[1][0]
        print("  Debaltseve: found, as %s %s (%s .. %s), attributed to %s." % (
            "an" if e["class"][0] in "aeiou" else "a", e["class"].replace("_", " "), e["start"][:10], e["end"][:10], e["party"]))
        if e["party"] == "UA":
            print("    The attribution is the line's, not the battle's: this line is the one drawn after Debaltseve")
            print("    fell, so the salient lies on the non-government side, and GED events there, which carry no")
            print("    attacker, read as fire landing on that side. GED has no ground events, so no episode can be")
            print("    deliberate, hence none a sustained offensive; and most events there are 'near' a place")
            print("    (where_prec 2, 25 km), too imprecise to be judged against a line that close.")
    else:
        print("  Debaltseve: not found.")
    if avd[1]:
        e = avd[1][0]
        print("  Avdiivka 2017: found, as %s %s of %d hot week%s (%s .. %s), attributed to %s." % (
            "an" if e["class"][0] in "aeiou" else "a", e["class"].replace("_", " "), e["hot_windows"],
            "" if e["hot_windows"] == 1 else "s", e["start"][:10], e["end"][:10], e["party"]))
    else:
        print("  Avdiivka 2017: not found.")
    if quiet[1]:
        print("  After the July 2020 ceasefire: NOT quiet: %s." % ", ".join(e["id"] for e in quiet[1]))
    else:
        q0, q1 = "2020-07-27", "2020-11-01"
        near = [f for f in located if in_box(f["geometry"]["coordinates"], quiet[2])]
        before = [f for f in near if "2020-01-01" <= f["properties"]["time"][:10] < q0]
        after = [f for f in near if q0 <= f["properties"]["time"][:10] < q1]
        vb = sum(1 for f in before if f["id"] in viol_by_id)
        va = sum(1 for f in after if f["id"] in viol_by_id)
        print("  After the July 2020 ceasefire: quiet, no episode; %d GED events and %d isolated violations" % (len(after), va))
        print("    along the line in the 3 months from 27 July, against %d events and %d violations in the" % (len(before), vb))
        print("    7 months before.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("attribution")
    p = sub.add_parser("line")
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("left")
    p.add_argument("right")
    p = sub.add_parser("places")
    p.add_argument("out")
    p = sub.add_parser("donetsk")
    p.add_argument("located")
    p.add_argument("party")
    p = sub.add_parser("sidecheck")
    p.add_argument("line")
    p.add_argument("located")
    p = sub.add_parser("csv")
    p.add_argument("src")
    p.add_argument("out")
    p = sub.add_parser("report")
    p.add_argument("--import-summary", required=True)
    p.add_argument("--summary", required=True)
    p.add_argument("--episodes", required=True)
    p.add_argument("--located", required=True)
    p.add_argument("--gt")
    args = ap.parse_args()
    if args.cmd == "attribution":
        print(ATTRIBUTION)
        return
    {"line": cmd_line, "places": cmd_places, "donetsk": cmd_donetsk, "sidecheck": cmd_sidecheck,
     "csv": cmd_csv, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
