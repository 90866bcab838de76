// The dashboard's cluster tile: the published behavioural clusters from GET /v1/clusters
// (scope kpi:read; docs/analytics.md, "Behavioural clusters"): each cluster's id, its label
// (the centroid's most distinctive features) and its share of the clustering's sample.
// Ids are matched across publications, so a row keeps its id as clusters drift.

const POLL_MS = 5_000;
const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

export function startClusters(token) {
  let timer = 0;
  async function refresh() {
    clearTimeout(timer);
    const tile = $('cluster-tile');
    try {
      const res = await fetch('/v1/clusters', { headers: { authorization: `Bearer ${token()}` }, cache: 'no-store' });
      if (!res.ok) throw new Error(String(res.status));
      draw(await res.json());
      tile.dataset.state = 'ok';
    } catch (e) {
      tile.dataset.state = 'unavailable';
      $('cluster-summary').textContent = e.message === '403' ? 'needs a token with kpi:read' : 'no clusters';
      $('clusters').replaceChildren();
    }
    timer = setTimeout(refresh, POLL_MS);
  }
  refresh();
}

function draw(body) {
  $('cluster-summary').textContent =
    body.publishedAt === null
      ? 'not published yet'
      : `${body.clusters.length} clusters, published ${new Date(body.publishedAt).toISOString().slice(0, 16).replace('T', ' ')}`;
  const top = Math.max(0, ...body.clusters.map((c) => c.share));
  $('clusters').replaceChildren(
    ...body.clusters.map((c) => {
      const li = document.createElement('li');
      li.dataset.testid = `cluster-${c.id}`;
      li.dataset.size = String(c.size);
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = `#${c.id} ${c.label}`;
      name.title = c.label;
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.className = 'fill';
      fill.style.width = `${top > 0 ? (100 * c.share) / top : 0}%`;
      bar.append(fill);
      const size = document.createElement('span');
      size.className = 'value mono';
      size.textContent = String(c.size);
      const share = document.createElement('span');
      share.className = 'share mono';
      share.textContent = `${(100 * c.share).toFixed(1)} %`;
      li.append(name, bar, size, share);
      return li;
    }),
  );
}
