/*
 * geo_renewal map runtime: draws the data layers of a renewal map on Leaflet's canvas
 * renderer, finds the feature under the mouse, and declutters the permanent labels.
 * Python: geo_renewal/maps.py writes the page; the data format below is declared once in
 * geo_renewal/_mapdata.py (the constant names in the second column), and the tests read the
 * same constants. This header is left out of the pages (geo_renewal._folium.runtime_html).
 *
 * API (window.geoRenewal)
 *   layer(name, spec, data[, prefix]) -> L.FeatureGroup holding one MultiPath (+ label
 *                            tooltips), or one MultiPath per decoded chunk (spec.chunks)
 *   pending()                chunks being decoded now (0: every chunk in view is drawn)
 *   decorate(map, spec)      title, legend, zoom and scale controls, attribution prefix,
 *                            the fitted view, folding controls on small screens
 *   layers                   [{name, layer, path, count, ms}] in drawing order
 *                            (chunked layers: path is empty, paths the decoded chunks,
 *                            count the features of every chunk)
 *   featureLatLng(entry, i)  a point of feature i of a `layers` entry (mean of its first path)
 *   declutter()              re-run the label decluttering (runs on zoom, move, resize …)
 *   labels()                 [{text, shown, box, layer, feature, rank, hot}] of the labels
 *                            on the map (rank: [layer priority, rank]; hot: an overdue
 *                            project's)
 *   featureBox(entry, i)     screen box [left, top, right, bottom] of feature i of an entry
 *   timing                   performance.now() marks
 *
 * Layer data (third argument of layer(); JSON, integer coordinates in 1/k degree)
 *   k    SCALE          integer units per degree (10 ** precision)
 *   o    ORIGIN         [x, y]: origin of the first vertex delta
 *   c    COORDS         [dx, dy, …]: each vertex minus the previous one (lon, lat order)
 *   n    PATH_SIZES     vertices per path: a ring (no closing vertex), a line or a point
 *   p    FEATURE_SIZES  paths per feature
 *   t    FAMILIES       per feature: 0 POLYGON, 1 LINE, 2 POINT
 *   v    VALUES         optional, per feature: escaped field texts ["…", …]
 *   l    LABELS         optional, per feature: label HTML, "" for none
 *   lp   LABEL_POINTS   optional, per feature: label anchor [x, y] relative to o
 *   s    STYLE_KEYS     optional, per feature: index into spec.styles
 *   lr   LABEL_RANKS    optional, per feature: rank of its label within the layer (lower
 *                       first; default the feature order)
 * Rings are counter-clockwise, holes clockwise: the "nonzero" fill rule draws holes.
 *
 * Layer spec (second argument of layer())
 *   style      STYLE               Leaflet path options of the layer (interactive: false
 *                                  for outlines that must not take the mouse)
 *   styles     STYLES              per style key: options merged over style
 *   labelPrio  LABEL_PRIORITY_KEY  rank of the layer's labels (see LABEL_PRIORITY)
 *   place      PLACE_KEY           label placement: 0 on the anchor only, 1 also nudged
 *                                  inside the feature, 2 also around the feature
 *   obstacle   OBSTACLE_KEY        true: no other label may cover this layer's features
 *   tip        TIP                 optional field spec of the tooltip
 *   zr         ZOOM_RANGE          optional [min, max]: drawn and hovered only at
 *                                  min <= zoom < max (null: no bound), e.g. the overview
 *                                  of a whole city (max) and its parcels (min)
 *   chunks     CHUNKS              optional [[i, west, south, east, north, n], …]: the
 *                                  features in spatial chunks, chunk i the layer data as
 *                                  base64 zlib in the element <prefix>i (the fourth
 *                                  argument of layer()); decoded (DecompressionStream)
 *                                  when the view at a zoom of zr reaches its box
 *   noDecode   NO_DECODE           the notice shown where the browser cannot decode
 *   Style options read by the runtime besides Leaflet's: under (a totals layer that leaves
 *   the mouse to a layer below it, see _coveredBelow), arrow (arrowheads at line ends).
 *   pop        POPUP               optional field spec of the popup
 * Field spec
 *   labels     FIELD_LABELS  escaped labels of the shown fields
 *   idx        FIELD_INDEX   per shown field: its position in the feature's v
 *   head       HEAD          escaped heading
 *   headIdx    HEAD_INDEX    position in v of a per-feature heading, or null
 * Decorations (second argument of decorate())
 *   title        TITLE        escaped title ("" for none)
 *   legend       LEGEND       legend HTML
 *   zoomIn       ZOOM_IN      title of the zoom-in button
 *   zoomOut      ZOOM_OUT     title of the zoom-out button
 *   noTiles      NO_TILES     true without a base map (plain background)
 *   attribution  ATTRIBUTION  attribution prefix HTML
 *   bounds       BOUNDS       [[south, west], [north, east]] fitted into the part of the
 *                             map that the title, legend and layer list leave free
 *   legendButton LEGEND_BUTTON  text of the button that unfolds the legend (small screens)
 *   layersButton LAYERS_BUTTON  text of the button that unfolds the layer list
 *
 * Hit testing (MultiPath._featureAt): the layer's features are binned by bounding box in a
 * G x G grid (G = ceil(sqrt(features / 2)), at most 512) over the layer's bounds; every cell
 * within the largest hit tolerance of the mouse is searched. A point hits a polygon inside
 * its rings (even-odd over all rings, so holes do not hit; the outline has no tolerance), a
 * line within weight / 2 px of a segment, and a point marker within its radius (default
 * 5 px), plus the renderer's tolerance. Within a layer the last feature in data order that
 * hits wins; across layers Leaflet's canvas renderer gives the event to the last interactive
 * layer in drawing order (its _drawFirst list).
 *
 * Label decluttering (declutter): labels in LABEL_PRIORITY order (projects, sites,
 * districts, renewal units, constraint layers, zones, then the rest), within a layer by LABEL_RANKS (ties
 * in the order added). Each label takes the first of its candidate places (see
 * candidates(): its anchor if it fits inside its feature's box, then nudged, then around
 * the feature) that stays inside the map and overlaps no label already shown, no title or
 * control, and no feature box of an obstacle layer but its own (CSS margins move it); a
 * label without such a place is hidden (visibility) until zooming gives it room.
 *
 * Small screens (map narrower than 640 px or lower than 480 px): class gr-small on the
 * map; the legend and the layer list start folded (class gr-folded) behind a button.
 *
 * Leaflet internals this relies on (checked with Leaflet 1.9.3, the version folium 0.20
 * loads, geo_renewal._folium.LEAFLET_JS):
 *   L.Path subclass overriding the private hooks _project (on view reset and zoom end),
 *     _update, _updatePath (called by the canvas renderer's _draw while _drawing is true)
 *     and _containsPoint(layerPoint) (called by the renderer's _handleMouseHover and
 *     _onClick for layers with options.interactive);
 *   this._pxBounds (read by the renderer's _draw and _extendRedrawBounds),
 *     this._clickTolerance(), this._renderer, this._map;
 *   Canvas renderer: _ctx, _drawing, _bounds (pixel bounds of the canvas) and
 *     _fillStroke(ctx, layer), which reads only layer.options (incl. the private
 *     options._dashArray normally set by _updateDashArray), so each style group passes
 *     {options: …} as its layer; renderer.options.tolerance;
 *   L.Tooltip._map (is the label on the map) and getElement() for decluttering.
 */
window.geoRenewal = window.geoRenewal || (function () {
  "use strict";
  // Features per canvas path: one huge path is slow to rasterise, one path per feature
  // costs a fill and a stroke call each.
  var registry = [], labelTips = [], timing = {}, PI = Math.PI, MAXLAT = 85.0511287798, CHUNK = 50,
    UNDER_PX = 24;

  function table(spec, v) {
    var h = "", i, x;
    for (i = 0; i < spec.idx.length; i++) {
      x = v[spec.idx[i]];
      if (x !== "") { h += "<tr><th>" + spec.labels[i] + "</th><td>" + x + "</td></tr>"; }
    }
    return h;
  }
  function content(spec, cls) {
    return function (layer) {
      var v = (layer.grValues && layer._hit >= 0) ? layer.grValues[layer._hit] : [],
        head = spec.head || "";
      if (spec.headIdx !== null && spec.headIdx !== undefined) { head = v[spec.headIdx]; }
      return '<div class="' + cls + '">' + (head ? '<div class="gr-head">' + head + "</div>" : "")
        + "<table>" + table(spec, v) + "</table></div>";
    };
  }
  function dashes(d) {
    return d ? String(d).split(/[ ,]+/).map(Number) : [];
  }
  function segDist2(px, py, ax, ay, bx, by) {
    var dx = bx - ax, dy = by - ay, l = dx * dx + dy * dy, t = 0;
    if (l > 0) { t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / l)); }
    dx = ax + t * dx - px; dy = ay + t * dy - py;
    return dx * dx + dy * dy;
  }

  // All features of a layer as ONE Leaflet path on the canvas renderer: one fill and one
  // stroke per style instead of one Leaflet object per feature (creating 100k Leaflet
  // objects is what makes big folium maps slow). Hover and click find the feature with a
  // grid index and point-in-polygon / distance tests.
  var MultiPath = L.Path.extend({
    initialize: function (d, options, styles, zr) {
      L.setOptions(this, options);
      this._zr = zr || null;
      var k = d.k, c = d.c, n = d.n, p = d.p, nv = 0, i, j, q, v, x = d.o[0], y = d.o[1], lat;
      for (i = 0; i < n.length; i++) { nv += n[i]; }
      var mx = new Float64Array(nv), my = new Float64Array(nv);
      for (i = 0, j = 0; i < nv; i++, j += 2) {
        x += c[j]; y += c[j + 1];
        mx[i] = x / k / 360 + 0.5;
        lat = Math.max(Math.min(y / k, MAXLAT), -MAXLAT) * PI / 180;
        my[i] = 0.5 - Math.log(Math.tan(PI / 4 + lat / 2)) / (2 * PI);
      }
      var np = n.length, ps = new Uint32Array(np + 1), nf = p.length, fs = new Uint32Array(nf + 1);
      for (i = 0; i < np; i++) { ps[i + 1] = ps[i] + n[i]; }
      for (i = 0; i < nf; i++) { fs[i + 1] = fs[i] + p[i]; }
      var bb = new Float64Array(nf * 4), wb = [Infinity, Infinity, -Infinity, -Infinity];
      for (i = 0; i < nf; i++) {
        var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (q = fs[i]; q < fs[i + 1]; q++) {
          for (v = ps[q]; v < ps[q + 1]; v++) {
            if (mx[v] < x0) { x0 = mx[v]; } if (mx[v] > x1) { x1 = mx[v]; }
            if (my[v] < y0) { y0 = my[v]; } if (my[v] > y1) { y1 = my[v]; }
          }
        }
        bb[4 * i] = x0; bb[4 * i + 1] = y0; bb[4 * i + 2] = x1; bb[4 * i + 3] = y1;
        if (x0 < wb[0]) { wb[0] = x0; } if (y0 < wb[1]) { wb[1] = y0; }
        if (x1 > wb[2]) { wb[2] = x1; } if (y1 > wb[3]) { wb[3] = y1; }
      }
      var t = d.t, s = d.s, groups = {}, keys = [], key, g;
      for (i = 0; i < nf; i++) {
        key = (s ? s[i] : 0) * 3 + t[i];
        g = groups[key];
        if (!g) {
          g = groups[key] = {type: t[i], style: s ? s[i] : 0, feats: []};
          keys.push(key);
        }
        g.feats.push(i);
      }
      keys.sort(function (a, b) { return a - b; });
      this._groups = keys.map(function (kk) {
        var gg = groups[kk], o = L.extend({}, this.options, (styles || [])[gg.style] || {});
        if (gg.type === 1) { o.fill = false; }
        o._dashArray = dashes(o.dashArray);
        return {type: gg.type, layer: {options: o}, feats: new Uint32Array(gg.feats),
          filled: {options: L.extend({}, o, {stroke: false})},
          radius: o.radius || 5, weight: o.weight || 0};
      }, this);
      this._mx = mx; this._my = my; this._ps = ps; this._fs = fs; this._bb = bb; this._wb = wb;
      this._t = t; this._nf = nf; this._hit = -1; this._grid = null;
      // typical feature size (median bbox width): outlines are left out when features are
      // only a few pixels wide, where they would grey the whole map
      var widths = [];
      for (i = 0; i < nf; i += Math.max(1, Math.floor(nf / 999))) { widths.push(bb[4 * i + 2] - bb[4 * i]); }
      widths.sort(function (a, b) { return a - b; });
      this._typical = widths.length ? widths[widths.length >> 1] : 0;
    },
    getBounds: function () {
      var b = this._wb;
      function ll(wx, wy) {
        var lat = (2 * Math.atan(Math.exp((0.5 - wy) * 2 * PI)) - PI / 2) * 180 / PI;
        return L.latLng(lat, (wx - 0.5) * 360);
      }
      return L.latLngBounds(ll(b[0], b[3]), ll(b[2], b[1]));
    },
    getCenter: function () { return this.getBounds().getCenter(); },
    _project: function () {
      var map = this._map, s = 256 * Math.pow(2, map.getZoom()), o = map.getPixelOrigin(),
        b = this._wb, w = this._clickTolerance() + 10;
      this._s = s; this._ox = o.x; this._oy = o.y;
      this._pxBounds = L.bounds([b[0] * s - o.x - w, b[1] * s - o.y - w],
        [b[2] * s - o.x + w, b[3] * s - o.y + w]);
    },
    _update: function () {},
    _shown: function () {
      // spec.zr: the overview of a city below the parcels' zoom, its parcels from it on
      var zr = this._zr, z = this._map ? this._map.getZoom() : 0;
      return !zr || ((zr[0] === null || z >= zr[0] - 1e-9) && (zr[1] === null || z < zr[1] - 1e-9));
    },
    _updatePath: function () {
      var r = this._renderer;
      if (!r._drawing || !r._ctx || !this._shown()) { return; }
      if (!timing.firstDraw) { timing.firstDraw = performance.now(); }
      var ctx = r._ctx, s = this._s, ox = this._ox, oy = this._oy, mx = this._mx, my = this._my,
        ps = this._ps, fs = this._fs, bb = this._bb, vb = r._bounds,
        pad = 20, minx = (vb.min.x + ox - pad) / s, miny = (vb.min.y + oy - pad) / s,
        maxx = (vb.max.x + ox + pad) / s, maxy = (vb.max.y + oy + pad) / s, gi, g, fi, f, q, a, e, vv, x, y, lx, ly, drawn, any, chunk, style;
      for (gi = 0; gi < this._groups.length; gi++) {
        g = this._groups[gi]; any = false; chunk = 0;
        style = (g.type === 0 && g.layer.options.fill && this._typical * s < 6) ? g.filled : g.layer;
        ctx.beginPath();
        for (fi = 0; fi < g.feats.length; fi++) {
          f = g.feats[fi];
          if (bb[4 * f] > maxx || bb[4 * f + 2] < minx || bb[4 * f + 1] > maxy || bb[4 * f + 3] < miny) { continue; }
          if (any && ++chunk >= CHUNK) { r._fillStroke(ctx, style); ctx.beginPath(); chunk = 0; }
          any = true;
          for (q = fs[f]; q < fs[f + 1]; q++) {
            a = ps[q]; e = ps[q + 1];
            lx = mx[a] * s - ox; ly = my[a] * s - oy;
            if (g.type === 2) { ctx.moveTo(lx + g.radius, ly); ctx.arc(lx, ly, g.radius, 0, 2 * PI); continue; }
            ctx.moveTo(lx, ly); drawn = false;
            for (vv = a + 1; vv < e; vv++) {
              x = mx[vv] * s - ox; y = my[vv] * s - oy;
              if (vv === e - 1 || Math.abs(x - lx) + Math.abs(y - ly) > 0.7) {
                ctx.lineTo(x, y); lx = x; ly = y; drawn = true;
              }
            }
            if (!drawn) { ctx.rect(lx - 0.5, ly - 0.5, 1, 1); }
            if (g.type === 0) { ctx.closePath(); }
          }
        }
        if (any) { r._fillStroke(ctx, style); }
        if (any && g.type === 1 && g.layer.options.arrow) { this._arrowHeads(ctx, g, minx, miny, maxx, maxy); }
      }
    },
    _arrowHeads: function (ctx, g, minx, miny, maxx, maxy) {
      // Flows (spec.style.arrow): a filled triangle at the end of each line's last path,
      // pointing along its last segment, sized by the line's weight.
      var o = g.layer.options, s = this._s, ox = this._ox, oy = this._oy, mx = this._mx,
        my = this._my, ps = this._ps, fs = this._fs, bb = this._bb, len = Math.max(7, 2.2 * (o.weight || 2)),
        fi, f, e, x, y, ux, uy, d;
      ctx.beginPath();
      for (fi = 0; fi < g.feats.length; fi++) {
        f = g.feats[fi];
        if (bb[4 * f] > maxx || bb[4 * f + 2] < minx || bb[4 * f + 1] > maxy || bb[4 * f + 3] < miny) { continue; }
        e = ps[fs[f + 1]];
        if (e - ps[fs[f + 1] - 1] < 2) { continue; }
        x = mx[e - 1] * s - ox; y = my[e - 1] * s - oy;
        ux = x - (mx[e - 2] * s - ox); uy = y - (my[e - 2] * s - oy); d = Math.sqrt(ux * ux + uy * uy) || 1;
        ux /= d; uy /= d;
        ctx.moveTo(x, y);
        ctx.lineTo(x - len * ux - 0.5 * len * uy, y - len * uy + 0.5 * len * ux);
        ctx.lineTo(x - len * ux + 0.5 * len * uy, y - len * uy - 0.5 * len * ux);
        ctx.closePath();
      }
      ctx.globalAlpha = o.opacity === undefined ? 1 : o.opacity;
      ctx.fillStyle = o.color;
      ctx.fill();
      ctx.globalAlpha = 1;
    },
    _buildGrid: function () {
      var nf = this._nf, b = this._wb, bb = this._bb, G = Math.max(1, Math.min(512, Math.ceil(Math.sqrt(nf / 2)))),
        w = (b[2] - b[0]) / G || 1e-12, h = (b[3] - b[1]) / G || 1e-12, cnt = new Uint32Array(G * G + 1), i, cx, cy, x0, x1, y0, y1;
      var cell = function (v, o, size) { return Math.max(0, Math.min(G - 1, Math.floor((v - o) / size))); };
      for (i = 0; i < nf; i++) {
        x0 = cell(bb[4 * i], b[0], w); x1 = cell(bb[4 * i + 2], b[0], w);
        y0 = cell(bb[4 * i + 1], b[1], h); y1 = cell(bb[4 * i + 3], b[1], h);
        for (cy = y0; cy <= y1; cy++) { for (cx = x0; cx <= x1; cx++) { cnt[cy * G + cx + 1]++; } }
      }
      for (i = 0; i < G * G; i++) { cnt[i + 1] += cnt[i]; }
      var fill = cnt.slice(0, G * G), items = new Uint32Array(cnt[G * G]);
      for (i = 0; i < nf; i++) {
        x0 = cell(bb[4 * i], b[0], w); x1 = cell(bb[4 * i + 2], b[0], w);
        y0 = cell(bb[4 * i + 1], b[1], h); y1 = cell(bb[4 * i + 3], b[1], h);
        for (cy = y0; cy <= y1; cy++) { for (cx = x0; cx <= x1; cx++) { items[fill[cy * G + cx]++] = i; } }
      }
      this._grid = {G: G, w: w, h: h, start: cnt, items: items};
      this._typeOf = new Uint8Array(nf); this._tolOf = new Float32Array(nf); this._tolMax = 0;
      for (var gi = 0; gi < this._groups.length; gi++) {
        var g = this._groups[gi], tol = g.type === 2 ? g.radius : g.weight / 2;
        this._tolMax = Math.max(this._tolMax, tol);
        for (i = 0; i < g.feats.length; i++) {
          this._typeOf[g.feats[i]] = g.type;
          this._tolOf[g.feats[i]] = tol;
        }
      }
    },
    _featureAt: function (wx, wy, tolPx) {
      // Every cell the hit tolerance reaches is searched: a marker or a line near a cell
      // edge is hit from the next cell too. The highest feature index that is hit wins.
      if (!this._grid) { this._buildGrid(); }
      var gr = this._grid, b = this._wb, G = gr.G, reach = (this._tolMax + tolPx) / this._s,
        best = -1, i, f, cx, cy, c;
      var cell = function (v, size) { return Math.max(0, Math.min(G - 1, Math.floor(v / size))); };
      var cx0 = cell(wx - reach - b[0], gr.w), cx1 = cell(wx + reach - b[0], gr.w),
        cy0 = cell(wy - reach - b[1], gr.h), cy1 = cell(wy + reach - b[1], gr.h);
      for (cy = cy0; cy <= cy1; cy++) {
        for (cx = cx0; cx <= cx1; cx++) {
          c = cy * G + cx;
          for (i = gr.start[c]; i < gr.start[c + 1]; i++) {
            f = gr.items[i];
            if (f > best && this._hits(f, wx, wy, tolPx)) { best = f; }
          }
        }
      }
      return best;
    },
    _hits: function (f, wx, wy, tolPx) {
      var mx = this._mx, my = this._my, ps = this._ps, fs = this._fs, bb = this._bb,
        tol = (this._tolOf[f] + tolPx) / this._s, typ = this._typeOf[f], q, a, e, v, j, inside;
      if (wx < bb[4 * f] - tol || wx > bb[4 * f + 2] + tol || wy < bb[4 * f + 1] - tol || wy > bb[4 * f + 3] + tol) { return false; }
      if (typ === 0) {
        inside = false;
        for (q = fs[f]; q < fs[f + 1]; q++) {
          a = ps[q]; e = ps[q + 1];
          for (v = a, j = e - 1; v < e; j = v++) {
            if (((my[v] > wy) !== (my[j] > wy)) && (wx < (mx[j] - mx[v]) * (wy - my[v]) / (my[j] - my[v]) + mx[v])) { inside = !inside; }
          }
        }
        return inside;
      }
      for (q = fs[f]; q < fs[f + 1]; q++) {
        a = ps[q]; e = ps[q + 1];
        if (typ === 2) {
          if ((mx[a] - wx) * (mx[a] - wx) + (my[a] - wy) * (my[a] - wy) <= tol * tol) { return true; }
          continue;
        }
        for (v = a; v < e - 1; v++) {
          if (segDist2(wx, wy, mx[v], my[v], mx[v + 1], my[v + 1]) <= tol * tol) { return true; }
        }
      }
      return false;
    },
    _containsPoint: function (p) {
      if (!this._s || !this._shown()) { return false; }
      var f = this._featureAt((p.x + this._ox) / this._s, (p.y + this._oy) / this._s,
        this._renderer.options.tolerance || 0);
      if (f >= 0 && this.options.under && this._coveredBelow(p)) { return false; }
      if (f >= 0) { this._hit = f; }
      return f >= 0;
    },
    _coveredBelow: function (p) {
      // A totals layer (zones, units: spec.style.under) leaves the mouse to an interactive
      // layer drawn before it whose feature is under the mouse and big enough to point at
      // (typical width >= UNDER_PX), e.g. a parcel when zoomed in.
      for (var o = this._renderer._drawFirst, l; o && o.layer !== this; o = o.next) {
        l = o.layer;
        if (l.options.interactive && l._featureAt && l._s && l._typical * l._s >= UNDER_PX
          && l._featureAt((p.x + l._ox) / l._s, (p.y + l._oy) / l._s, 0) >= 0) { return true; }
      }
      return false;
    }
  });

  // Labels of every layer, and the map the runtime decorated (for decluttering).
  var theMap = null, GAP = 3;

  function popupOptions() {
    return {maxWidth: 460, autoPanPaddingTopLeft: L.point(12, 64),
      autoPanPaddingBottomRight: L.point(12, 12)};
  }

  function layer(name, spec, data, prefix) {
    var t0 = performance.now(), base = L.extend({fillRule: "nonzero", fill: true}, spec.style),
      path = new MultiPath(data, base, spec.styles, spec.zr), group = L.featureGroup(spec.chunks ? [] : [path]),
      i, k = data.k, tip, entry = {name: name, layer: group, path: path, count: path._nf, ms: 0, spec: spec};
    path.grValues = data.v || null;
    if (spec.chunks) {
      // a whole city's parcels: one MultiPath per chunk, decoded when in view (loadChunks)
      entry.base = base; entry.paths = []; entry.prefix = prefix; entry.count = 0;
      entry.chunks = spec.chunks.map(function (c) {
        entry.count += c[5];
        return {i: c[0], box: L.latLngBounds([c[2], c[1]], [c[4], c[3]]), n: c[5], state: 0};
      });
    }
    if (data.l && data.lp) {
      for (i = 0; i < data.l.length; i++) {
        if (!data.l[i]) { continue; }
        tip = L.tooltip({permanent: true, direction: "center", className: "gr-label",
          interactive: false, opacity: 1})
          .setLatLng([(data.o[1] + data.lp[2 * i + 1]) / k, (data.o[0] + data.lp[2 * i]) / k])
          .setContent(data.l[i]);
        tip._grPrio = spec.labelPrio || 0;
        tip._grRank = data.lr ? data.lr[i] : i;
        tip._grEntry = entry;
        tip._grFeat = i;
        labelTips.push(tip);
        group.addLayer(tip);
      }
    }
    if (spec.tip) {
      group.bindTooltip(content(spec.tip, "gr-tip"), {sticky: true, opacity: 1});
      followHits(group, path);
    }
    if (spec.pop) { group.bindPopup(content(spec.pop, "gr-popup"), popupOptions()); }
    entry.ms = performance.now() - t0;
    registry.push(entry);
    return group;
  }

  function followHits(group, path) {
    // the tooltip follows the feature under the mouse within one path
    path.on("mousemove", function () {
      if (path._hit !== path._shownHit) {
        path._shownHit = path._hit;
        if (group.isTooltipOpen()) { group.getTooltip().update(); }
      }
    });
    path.on("mouseout", function () { path._shownHit = -1; });
  }

  // Chunked layers (spec.chunks): decode the chunks that the view reaches at a zoom where
  // the layer is drawn; each becomes a MultiPath of the layer's group.
  var pendingChunks = 0, noticeShown = false;
  function inflate(b64) {
    if (typeof DecompressionStream === "undefined") { return Promise.reject(new Error("DecompressionStream")); }
    var bin = atob(b64), n = bin.length, u = new Uint8Array(n), i;
    for (i = 0; i < n; i++) { u[i] = bin.charCodeAt(i); }
    return new Response(new Blob([u]).stream().pipeThrough(new DecompressionStream("deflate"))).text();
  }
  function notice(text) {
    if (noticeShown || !theMap || !text) { return; }
    noticeShown = true;
    var d = L.DomUtil.create("div", "gr-notice", theMap.getContainer());
    d.innerHTML = text;
  }
  function loadChunk(e, c) {
    var el = document.getElementById(e.prefix + c.i);
    c.state = 1; pendingChunks++;
    inflate(el ? el.textContent : "").then(function (text) {
      var d = JSON.parse(text), p = new MultiPath(d, e.base, e.spec.styles, e.spec.zr);
      p.grValues = d.v || null;
      if (e.spec.tip) { followHits(e.layer, p); }
      e.paths.push(p); e.layer.addLayer(p); c.state = 2;
      el.textContent = "";  // the decoded chunk is in the path now
    }).catch(function () {
      c.state = 3; notice(e.spec.noDecode);
    }).then(function () {
      pendingChunks--;
      if (!pendingChunks) { timing.chunksDrawn = performance.now(); }
    });
  }
  function loadChunks() {
    if (!theMap) { return; }
    var z = theMap.getZoom(), view = theMap.getBounds().pad(0.25);
    registry.forEach(function (e) {
      var zr = e.spec.zr;
      if (!e.chunks || !e.layer._map || (zr && zr[0] !== null && z < zr[0] - 1e-9)) { return; }
      e.chunks.forEach(function (c) {
        if (!c.state && view.intersects(c.box)) { loadChunk(e, c); }
      });
    });
  }

  // Screen boxes (client pixels) of a feature: its bounding box at the current view.
  function featureBox(path, f, cr) {
    var map = theMap, s = 256 * Math.pow(2, map.getZoom()), o = map.getPixelOrigin(),
      bb = path._bb, a = map.layerPointToContainerPoint(L.point(bb[4 * f] * s - o.x, bb[4 * f + 1] * s - o.y)),
      b = map.layerPointToContainerPoint(L.point(bb[4 * f + 2] * s - o.x, bb[4 * f + 3] * s - o.y));
    return {left: cr.left + a.x, top: cr.top + a.y, right: cr.left + b.x, bottom: cr.top + b.y};
  }
  function overlaps(r, q) {
    return r.left < q.right && r.right > q.left && r.top < q.bottom && r.bottom > q.top;
  }
  function shifted(r, dx, dy) {
    return {left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy};
  }
  // Where a label may go, as shifts of its box r (centred on its anchor): inside its own
  // feature box `own` if it fits (the anchor, then nudged); for placed layers (spec.place 2)
  // also around the feature, never over it, in two rings.
  function candidates(r, own, place) {
    var w = r.right - r.left, h = r.bottom - r.top, cx = (r.left + r.right) / 2,
      cy = (r.top + r.bottom) / 2, out = [], fits, ocx, ocy, ring, d;
    fits = !own || (w <= own.right - own.left - 2 && h <= own.bottom - own.top - 2);
    if (fits || !place) { out.push([0, 0]); }
    if (!place || !own) { return out; }
    if (fits) {
      [[0, -(h + GAP)], [0, h + GAP], [-(w / 2 + GAP), 0], [w / 2 + GAP, 0]].forEach(function (v) {
        var q = shifted(r, v[0], v[1]);
        if (q.left >= own.left && q.right <= own.right && q.top >= own.top && q.bottom <= own.bottom) { out.push(v); }
      });
    }
    if (place < 2) { return out; }
    ocx = (own.left + own.right) / 2; ocy = (own.top + own.bottom) / 2;
    // close to the feature only (a label far from its feature names nothing): three rings,
    // each with the four sides, the sides slid by half a label, and the corners
    for (ring = 0; ring < 3; ring++) {
      d = GAP + ring * (h + GAP);
      [[ocx, own.top - d - h / 2], [ocx, own.bottom + d + h / 2],
        [own.right + d + w / 2, ocy], [own.left - d - w / 2, ocy],
        [ocx - w / 2, own.top - d - h / 2], [ocx + w / 2, own.top - d - h / 2],
        [ocx - w / 2, own.bottom + d + h / 2], [ocx + w / 2, own.bottom + d + h / 2],
        [own.right + d + w / 2, ocy - h / 2], [own.right + d + w / 2, ocy + h / 2],
        [own.left - d - w / 2, ocy - h / 2], [own.left - d - w / 2, ocy + h / 2],
        [own.right + d + w / 2, own.top - d - h / 2], [own.left - d - w / 2, own.top - d - h / 2],
        [own.right + d + w / 2, own.bottom + d + h / 2], [own.left - d - w / 2, own.bottom + d + h / 2]]
        .forEach(function (t) { out.push([t[0] - cx, t[1] - cy]); });
    }
    return out;
  }

  function declutter() {
    // Permanent labels in priority order (layer rank, then the label's own rank: overdue
    // projects first); each goes to the first candidate place inside the map that overlaps
    // no label already shown, no title or control, and no feature of an obstacle layer
    // (projects, sites) other than its own; a label with no such place is hidden.
    if (!theMap) { return; }
    var c = theMap.getContainer(), cr = c.getBoundingClientRect(), blocks = [], feats = [],
      placed = [], order, inside;
    Array.prototype.forEach.call(c.querySelectorAll(".gr-title, .leaflet-control"), function (el) {
      var r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) { blocks.push(r); }
    });
    registry.forEach(function (e) {
      if (!e.spec.obstacle || !e.path._map) { return; }
      for (var f = 0; f < e.path._nf; f++) {
        var b = featureBox(e.path, f, cr);
        if (overlaps(b, cr)) { feats.push({e: e, f: f, r: b}); }
      }
    });
    inside = {left: cr.left + 2, top: cr.top + 2, right: cr.right - 2, bottom: cr.bottom - 2};
    order = labelTips.filter(function (t) { return t._map && t.getElement && t.getElement(); });
    order.sort(function (a, b) { return (a._grPrio - b._grPrio) || (a._grRank - b._grRank); });
    order.forEach(function (t) {
      var el = t.getElement();
      el.style.marginLeft = "0px"; el.style.marginTop = "0px"; el.style.visibility = "";
      t._grBox = el.getBoundingClientRect();
    });
    order.forEach(function (t) {
      var el = t.getElement(), r = t._grBox, e = t._grEntry, own = null, cands, i, q, ok;
      if (e.path._typeOf === undefined) { e.path._buildGrid(); }
      if (e.path._typeOf[t._grFeat] === 0) { own = featureBox(e.path, t._grFeat, cr); }
      cands = candidates(r, own, e.spec.place || 0);
      for (i = 0; i < cands.length; i++) {
        q = shifted(r, cands[i][0], cands[i][1]);
        ok = q.left >= inside.left && q.right <= inside.right && q.top >= inside.top && q.bottom <= inside.bottom
          && !placed.some(function (p) { return overlaps(q, p); })
          && !blocks.some(function (p) { return overlaps(q, p); })
          && !feats.some(function (o) { return !(o.e === e && o.f === t._grFeat) && overlaps(q, o.r); });
        if (ok) {
          el.style.marginLeft = cands[i][0] + "px"; el.style.marginTop = cands[i][1] + "px";
          placed.push(q);
          return;
        }
      }
      el.style.visibility = "hidden";
    });
  }

  // Fit the data into the part of the map that the title, legend and controls leave free:
  // each control is avoided either beside it or above / below it, whichever choice (over
  // all controls) gives the largest zoom; the title is always avoided below it.
  function fit(map, b) {
    var c = map.getContainer(), cr = c.getBoundingClientRect(), boxes = [], best = null,
      bounds = L.latLngBounds(b), mask, z;
    Array.prototype.forEach.call(c.querySelectorAll(".gr-title, .leaflet-control"), function (el) {
      var r = el.getBoundingClientRect();
      if (!r.width || !r.height || el.classList.contains("leaflet-control-scale")
        || el.classList.contains("leaflet-control-attribution")) { return; }
      boxes.push({left: r.left - cr.left, right: r.right - cr.left, top: r.top - cr.top,
        bottom: r.bottom - cr.top, title: el.classList.contains("gr-title")});
    });
    for (mask = 0; mask < (1 << boxes.length); mask++) {
      var tl = [10, 10], br = [10, 10];
      boxes.forEach(function (q, k) {
        var top = (q.top + q.bottom) / 2 < cr.height / 2, left = (q.left + q.right) / 2 < cr.width / 2;
        if (q.title || (mask >> k) & 1) {
          if (top) { tl[1] = Math.max(tl[1], q.bottom + 8); } else { br[1] = Math.max(br[1], cr.height - q.top + 8); }
        } else if (left) { tl[0] = Math.max(tl[0], q.right + 8); } else { br[0] = Math.max(br[0], cr.width - q.left + 8); }
      });
      if (tl[0] + br[0] > 0.6 * cr.width || tl[1] + br[1] > 0.6 * cr.height) { continue; }
      z = map.getBoundsZoom(bounds, false, L.point(tl[0] + br[0], tl[1] + br[1]));
      if (!best || z > best.z + 1e-9) { best = {z: z, tl: tl, br: br}; }
    }
    best = best || {tl: [10, 10], br: [10, 10]};
    map.fitBounds(bounds, {paddingTopLeft: best.tl, paddingBottomRight: best.br, animate: false});
  }

  function toggle(box, text, cls) {
    var btn = L.DomUtil.create("button", "gr-toggle", box);
    btn.type = "button"; btn.innerHTML = text;
    box.insertBefore(btn, box.firstChild);
    L.DomEvent.on(btn, "click", function (ev) {
      L.DomEvent.stop(ev);
      box.classList.toggle(cls);
      declutter();
    });
  }

  function layout(map, spec) {
    // Small screens (phones): the legend and the layer list fold into buttons; popups and
    // the title fit the screen.
    var c = map.getContainer(), small = c.clientWidth < 640 || c.clientHeight < 480, top = 12,
      t = c.querySelector(".gr-title");
    if (small !== L.DomUtil.hasClass(c, "gr-small")) {
      c.classList.toggle("gr-small", small);
      Array.prototype.forEach.call(c.querySelectorAll(".gr-legend, .leaflet-control-layers"), function (el) {
        el.classList.toggle("gr-folded", small);
      });
    }
    if (t) { titleRoom(c, t, small); }
    if (t) { top = t.getBoundingClientRect().bottom - c.getBoundingClientRect().top + 8; }
    registry.forEach(function (e) {
      var p = e.layer.getPopup ? e.layer.getPopup() : null;
      if (!p) { return; }
      p.options.autoPanPaddingTopLeft = L.point(12, top);
      p.options.maxWidth = Math.max(200, Math.min(460, c.clientWidth - 40));
      p.options.maxHeight = Math.max(120, c.clientHeight - top - 60);
    });
  }

  function titleRoom(c, t, small) {
    // On a small screen the title sits between the top-left buttons and the folded layer
    // list (图层): as wide as the room between them, never under either.
    var cr = c.getBoundingClientRect(), left = 10, right = 10;
    t.style.left = ""; t.style.maxWidth = "";
    if (!small) { return; }
    Array.prototype.forEach.call(c.querySelectorAll(".leaflet-top .leaflet-control"), function (el) {
      var r = el.getBoundingClientRect();
      if (!r.width) { return; }
      if (r.left + r.width / 2 < cr.left + cr.width / 2) { left = Math.max(left, r.right - cr.left); }
      else { right = Math.max(right, cr.right - r.left); }
    });
    t.style.left = (left + 8) + "px";
    t.style.maxWidth = Math.max(80, cr.width - left - right - 16) + "px";
  }

  function printing(map, spec) {
    // Paper has another size than the screen: refit and redraw at once (synchronously,
    // before the page is printed), and again when the screen is back.
    var redraw = function () {
      map.invalidateSize({animate: false, pan: false});
      if (spec.bounds) { fit(map, spec.bounds); }
      registry.forEach(function (e) {
        var r = e.path._renderer;
        if (r && r._update && r._redraw) { r._update(); r._redraw(); }
      });
      declutter();
    };
    if (window.matchMedia) {
      var mq = window.matchMedia("print");
      if (mq.addEventListener) { mq.addEventListener("change", redraw); }
    }
    window.addEventListener("beforeprint", redraw);
    window.addEventListener("afterprint", redraw);
  }

  function decorate(map, spec) {
    var c = map.getContainer(), d, legend, layers;
    theMap = map;
    timing.decorate = performance.now();
    L.DomUtil.addClass(c, "gr-map");
    if (spec.noTiles) { L.DomUtil.addClass(c, "gr-notiles"); }
    if (spec.title) {
      d = L.DomUtil.create("div", "gr-title", c);
      d.innerHTML = spec.title;
    }
    d = L.control.zoom({position: "topleft", zoomInTitle: spec.zoomIn, zoomOutTitle: spec.zoomOut})
      .addTo(map).getContainer();
    d.parentNode.insertBefore(d, d.parentNode.firstChild);  // above full screen and measuring
    L.control.scale({position: "bottomright", imperial: false, maxWidth: 160}).addTo(map);
    if (spec.legend) {
      legend = L.control({position: "bottomleft"});
      legend.onAdd = function () {
        var div = L.DomUtil.create("div", "gr-legend");
        div.innerHTML = '<div class="gr-legend-body">' + spec.legend + "</div>";
        toggle(div, spec.legendButton, "gr-folded");
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      };
      legend.addTo(map);
    }
    layers = c.querySelector(".leaflet-control-layers");
    if (layers) { toggle(layers, spec.layersButton, "gr-folded"); }
    if (map.attributionControl && spec.attribution) {
      map.attributionControl.setPrefix(spec.attribution);
    }
    layout(map, spec);
    if (spec.bounds) { fit(map, spec.bounds); }
    map.on("resize", function () { layout(map, spec); });
    printing(map, spec);
    map.on("zoomend moveend overlayadd overlayremove resize", declutter);
    map.on("zoomend moveend overlayadd resize", loadChunks);
    map.whenReady(function () { setTimeout(declutter, 0); });
    loadChunks();
  }
  function featureLatLng(entry, i) {
    // A point of feature i (mean of its first path), e.g. to hover it in tests.
    var p = entry.path, a = p._ps[p._fs[i]], e = p._ps[p._fs[i] + 1], x = 0, y = 0, v;
    for (v = a; v < e; v++) { x += p._mx[v]; y += p._my[v]; }
    x /= (e - a); y /= (e - a);
    return L.latLng((2 * Math.atan(Math.exp((0.5 - y) * 2 * PI)) - PI / 2) * 180 / PI, (x - 0.5) * 360);
  }
  function labels() {
    // The permanent labels on the map, for tests and checks: text, shown, screen box,
    // and the layer (index into layers) and feature they name.
    return labelTips.filter(function (t) { return t._map && t.getElement && t.getElement(); })
      .map(function (t) {
        var el = t.getElement(), r = el.getBoundingClientRect();
        return {text: el.textContent, shown: getComputedStyle(el).visibility !== "hidden",
          box: [r.left, r.top, r.right, r.bottom], layer: registry.indexOf(t._grEntry),
          feature: t._grFeat, rank: [t._grPrio, t._grRank], hot: !!el.querySelector(".gr-hot")};
      });
  }
  function featureBoxOf(entry, i) {
    // Screen box [left, top, right, bottom] of feature i of a `layers` entry.
    var b = featureBox(entry.path, i, theMap.getContainer().getBoundingClientRect());
    return [b.left, b.top, b.right, b.bottom];
  }
  return {layer: layer, decorate: decorate, layers: registry, timing: timing,
    featureLatLng: featureLatLng, declutter: declutter, labels: labels, featureBox: featureBoxOf,
    pending: function () { return pendingChunks; }};
})();
