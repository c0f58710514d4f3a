/**
 * The `name[]` filter of a scrape, as promhttp has it: `GET /metrics?name[]=a&name[]=b`
 * answers only the families registered as `a` and `b`.
 *
 * The query string is read here and nowhere else: authentication, the in-flight bound, the
 * timeout and the sharing of one rendering between concurrent scrapes never see it. A filtered
 * scrape joins the same rendering as an unfiltered one and cuts its families out of the text,
 * so each family it answers has the very bytes an unfiltered scrape has.
 *
 *     ?name[]=a&name[]=c   whole:    [a][b][c]   (one rendering, shared)
 *                          answer:   [a]   [c]   (same bytes, same order)
 *
 * @packageDocumentation
 */
import type { ExpositionFormat } from './content-negotiation';
import { joinFamilies, splitFamilies, type ExpositionFamily } from './exposition-families';
import type { ScrapeRendering } from './render-registry';

/** The query parameter promhttp filters by. */
const NAME_PARAMETER = 'name[]';

/** `text` decoded as a query-string component, or `undefined` when its escapes are malformed. */
function decodeComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The names the `name[]` parameters of a request URL ask for, or `undefined` when it has none
 * (no filter: every family). Read as Go's `url.ParseQuery` reads them, as promhttp does: a pair
 * whose escapes are malformed, or that holds a `;`, is left out as if it were not there; an
 * empty value names no family (so `?name[]=` alone answers no family); repeated names count
 * once. `url` may be anything a request object holds: only a string is read.
 * @internal
 */
export function requestedNames(url: unknown): ReadonlySet<string> | undefined {
  if (typeof url !== 'string') return undefined;
  const start = url.indexOf('?');
  if (start < 0) return undefined;
  let names: Set<string> | undefined;
  for (const pair of url.slice(start + 1).split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    if (decodeComponent(eq < 0 ? pair : pair.slice(0, eq)) !== NAME_PARAMETER) continue;
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1));
    if (value === undefined) continue;
    names ??= new Set();
    names.add(value);
  }
  return names;
}

/** Each rendering's families by name, cut once however many filtered scrapes share it. */
const familiesOf = new WeakMap<ScrapeRendering, ReadonlyMap<string, readonly ExpositionFamily[]>>();

function familiesByName(rendering: ScrapeRendering): ReadonlyMap<string, readonly ExpositionFamily[]> {
  let byName = familiesOf.get(rendering);
  if (byName === undefined) {
    const map = new Map<string, ExpositionFamily[]>();
    for (const family of splitFamilies(rendering.text)) {
      const same = map.get(family.name);
      if (same === undefined) map.set(family.name, [family]);
      else same.push(family);
    }
    byName = map;
    familiesOf.set(rendering, byName);
  }
  return byName;
}

/** What a filtered scrape answers: its text, and how many families it holds. */
export interface FilteredExposition {
  readonly text: string;
  readonly families: number;
}

/**
 * The families of `rendering` registered under one of `names`, in the order of the whole
 * exposition, each with its bytes there, joined as prom-client joins a registry's families
 * (`format` is the rendering's). A name matching nothing adds nothing.
 * @internal
 */
export function filterExposition(
  rendering: ScrapeRendering,
  format: ExpositionFormat,
  names: ReadonlySet<string>,
): FilteredExposition {
  const wanted = new Set<string>();
  for (const name of names) {
    const family = rendering.families.get(name);
    if (family !== undefined) wanted.add(family);
  }
  const byName = familiesByName(rendering);
  const kept = [...byName.entries()]
    .filter(([name]) => wanted.has(name))
    .flatMap(([, families]) => families)
    .sort((a, b) => a.firstLine - b.firstLine);
  return { text: joinFamilies(kept, format), families: kept.length };
}
