// Generated from src/alerts/types/ by `npx tsx scripts/alert-docs.ts`; do not edit by hand.
/** Every alert type, in the registry's order: its badge's label and colour. */
export const ALERT_TYPES = [
  { type: "churn.risk", label: "churn risk", colour: "var(--bad)" },
  { type: "value.tier_changed", label: "value tier", colour: "var(--accent)" },
  { type: "segment.changed", label: "segment", colour: "#b388eb" },
  { type: "cart.abandoned", label: "cart abandoned", colour: "var(--warn)" },
  { type: "recommendation.cross_sell", label: "cross-sell", colour: "var(--good)" },
  { type: "demand.spike", label: "demand spike", colour: "var(--info)" },
  { type: "demand.drop", label: "demand drop", colour: "var(--muted)" },
  { type: "campaign.report", label: "campaign", colour: "#4fc3f7" },
];
