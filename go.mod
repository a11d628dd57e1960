module github.com/linewatch/linewatch

go 1.26.3

require (
	github.com/paulmach/orb v0.14.0
	github.com/tidwall/geodesic v1.52.4
	github.com/tidwall/rtree v1.10.0
	github.com/twpayne/go-geom v1.7.0
	pgregory.net/rapid v1.3.0
)

require github.com/tidwall/geoindex v1.7.0 // indirect
