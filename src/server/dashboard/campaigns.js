// The dashboard's campaign tile: the latest campaign reports from GET /v1/campaigns (scope
// kpi:read; docs/analytics.md, "Campaign cohorts"): final reports first (their cohort window
// closed), then live ones as of the watermark. Each row: first-time and returning buyers,
// the 90-day repeat rate beside the baseline's, the uplift's interval and the verdict, which
// claims an uplift only when the interval lies above 0. Polled: reports move slowly.

const POLL_MS = 5_000;
const SHOWN = 8;
const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

const percent = (x) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)} %`);
const points = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;

/** The row's numbers as text, exported for reading (and the test's oracle), not a contract. */
export function reportCells(r) {
  const longest = r.repeat[r.repeat.length - 1];
  const judged = longest.eligible > 0 && longest.baselineEligible > 0;
  return {
    campaign: r.campaign,
    state: r.final ? 'final' : 'live',
    buyers: `${integer.format(r.firstTimeBuyers)} new · ${integer.format(r.returningBuyers)} back`,
    repeat: `${percent(longest.campaignRate.estimate)} vs ${percent(longest.baselineRate.estimate)}`,
    uplift: judged ? `${points(longest.uplift.lo)} … ${points(longest.uplift.hi)} pts` : '–',
    verdict: r.verdict,
  };
}

export function startCampaigns(token) {
  let timer = 0;
  async function refresh() {
    clearTimeout(timer);
    const tile = $('campaign-tile');
    try {
      const res = await fetch('/v1/campaigns', {
        headers: { authorization: `Bearer ${token()}` },
        cache: 'no-store',
      });
      if (!res.ok) throw new Error(String(res.status));
      draw(await res.json());
      tile.dataset.state = 'ok';
    } catch (e) {
      // 403 (a token without kpi:read) or 404 (analytics off): the tile says so, the rest goes on.
      tile.dataset.state = 'unavailable';
      $('campaign-summary').textContent = e.message === '403' ? 'needs a token with kpi:read' : 'no campaigns';
      $('campaign-rows').replaceChildren();
    }
    timer = setTimeout(refresh, POLL_MS);
  }
  refresh();
}

function draw(body) {
  const reports = [...body.final, ...body.live].slice(0, SHOWN);
  $('campaign-summary').textContent =
    `${body.final.length} closed · ${body.liveCount} open · 90-day repeat vs baseline, ${percent(reports[0]?.level ?? 0.95).replace('.0 %', ' %')} interval`;
  $('campaign-rows').replaceChildren(
    ...reports.map((r) => {
      const cells = reportCells(r);
      const tr = document.createElement('tr');
      tr.dataset.campaign = r.campaign;
      tr.dataset.testid = `campaign-${r.campaign}`;
      for (const key of ['campaign', 'state', 'buyers', 'repeat', 'uplift', 'verdict']) {
        const td = document.createElement('td');
        td.textContent = cells[key];
        td.dataset.cell = key;
        if (key === 'verdict') td.className = `verdict verdict-${cells.verdict}`;
        tr.append(td);
      }
      return tr;
    }),
  );
}
