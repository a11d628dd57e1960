package importer

// The dialects' defaults (the package documentation gives the numbers and
// why). Every one can be overridden: a column flag replaces the column,
// --map entries replace the map's, --time-format and --tz replace theirs.
var presets = map[Dialect]preset{
	CSV: {},
	ACLED: {
		columns: cols(map[Field]string{
			Lon: "longitude", Lat: "latitude", Time: "event_date", ID: "event_id_cnty",
			Side: "actor1", Kind: "sub_event_type", PrecisionM: "geo_precision",
			Source: "source", TimeUncertainty: "time_precision",
		}),
		optional:   opt(Side, Kind, PrecisionM, Source, TimeUncertainty, ID),
		timeFormat: "2006-01-02|2006/01/02|02 January 2006|2 January 2006|02-January-2006|02/01/2006|02-01-2006",
		tz:         "UTC",
		m: &Map{sections: [numFields]*section{
			// The map file names the parties of actors; an actor it does
			// not name gives no side (ACLED's actor order is no direction).
			Side: {exact: map[string][]byte{}, def: []byte{}},
			Kind: {exact: map[string][]byte{
				"Shelling/artillery/missile attack":   []byte("fire"),
				"Air/drone strike":                    []byte("fire"),
				"Remote explosive/landmine/IED":       []byte("fire"),
				"Armed clash":                         []byte("ground"),
				"Government regains territory":        []byte("ground"),
				"Non-state actor overtakes territory": []byte("ground"),
			}, def: []byte("ground"), flagDef: true},
			PrecisionM: {exact: map[string][]byte{
				"1": []byte("2000"), "2": []byte("25000"), "3": []byte("100000"),
			}},
			TimeUncertainty: {exact: map[string][]byte{
				"1": []byte("43200"), "2": []byte("302400"), "3": []byte("1339200"),
			}},
		}},
	},
	UCDP: {
		columns: cols(map[Field]string{
			Lon: "longitude", Lat: "latitude", Time: "date_start", TimeEnd: "date_end", ID: "id",
			Kind: "=fire", Strength: "best", PrecisionM: "where_prec",
		}),
		optional:   opt(TimeEnd, Strength, PrecisionM, ID),
		timeFormat: "2006-01-02|2006/01/02",
		tz:         "UTC",
		m: &Map{sections: [numFields]*section{
			PrecisionM: {exact: map[string][]byte{
				"1": []byte("2000"), "2": []byte("25000"), "3": []byte("30000"), "4": []byte("100000"),
				"5": []byte("50000"), "6": []byte("500000"), "7": []byte("500000"),
			}},
		}},
	},
}

type preset struct {
	columns    [numFields]string
	optional   [numFields]bool // the default column may be absent from a file
	timeFormat string
	tz         string
	m          *Map
}

func cols(m map[Field]string) (out [numFields]string) {
	for f, c := range m {
		out[f] = c
	}
	return out
}

func opt(fs ...Field) (out [numFields]bool) {
	for _, f := range fs {
		out[f] = true
	}
	return out
}
