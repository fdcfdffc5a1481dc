// Message lookup over the portal's JSON catalogs (assets/i18n/XX.json, one flat object of key -> message
// per language, "{name}" marking a parameter). A key missing from a catalog falls back to English, then to
// the key itself. The catalogs the server found are listed in assets/i18n/languages.json.
const cache = new Map();

export async function catalog(code) {
  if (!cache.has(code)) {
    cache.set(code, fetch(`assets/i18n/${encodeURIComponent(code)}.json`).then((r) => {
      if (!r.ok) throw new Error(`catalog ${code}: HTTP ${r.status}`);
      return r.json();
    }));
  }
  return cache.get(code);
}

export async function languages() {
  const r = await fetch("assets/i18n/languages.json");
  return r.ok ? r.json() : [{ code: "en", name: "English" }];
}

// translator returns t(key, params) for one language, with its date formats.
export async function translator(code) {
  const [messages, english] = await Promise.all([catalog(code), catalog("en")]);
  const t = (key, params) => {
    let s = messages[key] ?? english[key] ?? key;
    for (const [k, v] of Object.entries(params || {})) s = s.split(`{${k}}`).join(String(v));
    return s;
  };
  t.lang = code;
  t.has = (key) => key in messages || key in english;
  // label names an enum value: the catalog's "kind.VALUE", else the value in words.
  t.label = (kind, value) => (t.has(`${kind}.${value}`) ? t(`${kind}.${value}`)
    : String(value).charAt(0) + String(value).slice(1).toLowerCase().replace(/_/g, " "));
  // A Date (YYYY-MM-DD) is a calendar day: format it in UTC so that no time zone moves it.
  t.date = (d) => (d ? new Intl.DateTimeFormat(code, { dateStyle: "long", timeZone: "UTC" })
    .format(new Date(`${String(d).slice(0, 10)}T00:00:00Z`)) : "");
  t.time = (d) => (d ? new Intl.DateTimeFormat(code, { dateStyle: "medium", timeStyle: "short" }).format(new Date(d)) : "");
  return t;
}
