"""Deterministic synthetic sample district: a Ningbo Jiangbei-like city edge, every layer.

:func:`generate_district` builds a complete BeatGrid project (every layer of
:data:`beatgrid.gis.schema.LAYER_ORDER`, EPSG:4490) from a household count and a seed.
The same seed always gives the same frames. The district is modelled on the seeds at
reduced scale (see ``docs/sample.md``):

- communities (one beat each, ~2,500 households) tile the district exactly: Voronoi cells
  of jittered seeds; village committees (rural) form the northern edge; ~6 communities per
  police station, ~4 adjacent beats per responsibility area (:mod:`.layout`);
- streets: arterials along community boundaries, a rotated local grid per urban community
  with jittered spacing, long curved roads, village roads through the hamlets
  (:mod:`.streets`), lanes and estate service roads between building rows;
- buildings: rotated rectangles set back from every street, never overlapping: old
  6-storey walk-ups (24-36 households), high-rises (60-200), urban-village rental houses,
  village houses (1-2), shops, offices, schools, workshops; households add up to the
  request per community; estates around blocks of housing, the old ones mostly open with
  few access doors (:mod:`.buildings`);
- residents, floating residents exceeding registered ones (人口倒挂) in a few communities;
  a year of incidents following floating residents; key places; a staff roster drawn
  against the staffing policy: by quota some beats fully staffed, some clearly
  understaffed (every 人口倒挂 beat among them), the rest mildly short (:mod:`.people`);
- police stations, responsibility areas, beats, rooms with office conditions; cameras
  (~1 per 100 households) mostly on roads, a few percent inside estates; governance grids:
  a second, partly shifted tessellation that mostly nests in the beats (:mod:`.policing`).

Everything is computed with vectorised numpy / shapely array operations in a local
Gauss-Kruger frame and converted to CGCS2000 at the end (:mod:`.district`); the generator
scales to a million households. Parameters live in ``gis/defaults/sample.toml``. No file
I/O here: ``beatgrid sample --out P.gpkg`` writes the result through the project's store
(:meth:`beatgrid.gis.io.store.Store.write_layers`); ``Project.sample()`` opens a writable
copy.

Examples
--------
>>> from beatgrid.gis import schema
>>> from beatgrid.gis.sample import generate_district
>>> layers = generate_district(households=5000, seed=1)
>>> sorted(layers) == sorted(schema.LAYER_ORDER)
True
>>> abs(int(layers["buildings"]["households"].sum()) - 5000) < 250
True
"""

from beatgrid.gis.sample.district import MIN_HOUSEHOLDS, generate_district

__all__ = ["MIN_HOUSEHOLDS", "generate_district"]
