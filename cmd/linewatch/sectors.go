package main

import (
	"github.com/urfave/cli/v2"

	"github.com/linewatch/linewatch/output"
)

func init() { register(sectorsCommand) }

func sectorsCommand() *cli.Command {
	return &cli.Command{
		Name:      "sectors",
		Usage:     "write the line's sector layout as GeoJSON",
		UsageText: "linewatch sectors --line L.geojson [--policy P.yaml] [-o OUT]",
		Description: "Writes a FeatureCollection with one LineString Feature per sector of the line\n" +
			"(a MultiLineString cut at the antimeridian for a sector across it, as RFC 7946 asks),\n" +
			"with properties id, index, km_from, km_to, length_km, stretch and stretch_name,\n" +
			"and simplestyle stroke colours that alternate so the sectors stand apart on a map. Example:\n\n" +
			"  linewatch sectors --line fixtures/lines/front-2024.geojson -o sectors.geojson",
		Flags:  lineFlags(),
		Action: sectorsAction,
	}
}

func sectorsAction(c *cli.Context) error {
	if c.Args().Present() {
		return usageError(c, "sectors takes no arguments, got %q", c.Args().First())
	}
	if err := checkOutputs(c, []string{"output"}, []string{"line", "policy"}, nil); err != nil {
		return err
	}
	l, _, err := loadLine(c)
	if err != nil {
		return err
	}
	out, err := openOutput(c)
	if err != nil {
		return err
	}
	return out.Done(output.WriteSectors(out, l))
}
