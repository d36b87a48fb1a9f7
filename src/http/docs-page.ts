/**
 * The API reference page served at /docs: one self-contained HTML document (inline CSS and
 * script, no external asset of any kind, so it works on a server with no internet access) that
 * fetches /openapi.json and renders every operation grouped by tag.
 *
 * Everything taken from the OpenAPI document is inserted with textContent, never as HTML. The
 * page is served with a Content-Security-Policy that allows exactly this inline script and style
 * (by hash) and a fetch to the same origin, so the "self-contained" promise is enforced by the
 * browser and not only by review.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root {
  --bg: #fbfbfa; --fg: #1d2125; --muted: #5c6670; --line: #e2e5e9; --card: #ffffff;
  --code-bg: #f1f3f5; --accent: #2456c7;
  --get: #1f7a4d; --post: #2456c7; --put: #9a5b00; --patch: #7a4bb3; --delete: #b3261e; --other: #5c6670;
  --ok: #1f7a4d; --warn: #9a5b00; --bad: #b3261e;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15181b; --fg: #e6e8ea; --muted: #9aa4ad; --line: #2c3237; --card: #1c2024;
    --code-bg: #252a2f; --accent: #7ea6ff;
    --get: #5fd49a; --post: #7ea6ff; --put: #f0b458; --patch: #c6a0f5; --delete: #ff8a80; --other: #9aa4ad;
    --ok: #5fd49a; --warn: #f0b458; --bad: #ff8a80;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
code, .path, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.9em; }
code { background: var(--code-bg); padding: 0.05em 0.3em; border-radius: 4px; overflow-wrap: anywhere; }
a { color: var(--accent); }
main { max-width: 980px; margin: 0 auto; padding: 1rem 1rem 4rem; }
header.page h1 { font-size: 1.6rem; margin: 0.5rem 0 0.25rem; line-height: 1.25; }
header.page .version { color: var(--muted); font-size: 0.9rem; }
header.page p { margin: 0.5rem 0; }
.toolbar { position: sticky; top: 0; z-index: 1; background: var(--bg); padding: 0.5rem 0; border-bottom: 1px solid var(--line); margin: 1rem 0; }
.toolbar input {
  width: 100%; font: inherit; padding: 0.5rem 0.75rem; border: 1px solid var(--line); border-radius: 8px;
  background: var(--card); color: var(--fg);
}
nav.toc { margin: 1rem 0 2rem; }
nav.toc ul { list-style: none; padding: 0; margin: 0; }
nav.toc > ul > li { margin: 0.4rem 0; }
nav.toc ul ul { padding-left: 1rem; }
nav.toc ul ul li { margin: 0.15rem 0; overflow-wrap: anywhere; }
nav.toc .tag-link { font-weight: 600; }
section.tag { margin-top: 2.5rem; }
section.tag > h2 { font-size: 1.35rem; border-bottom: 2px solid var(--line); padding-bottom: 0.25rem; margin-bottom: 0.5rem; text-transform: capitalize; }
section.tag > .tag-description { color: var(--muted); margin: 0 0 1rem; }
article.op { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem; margin: 1rem 0; }
article.op > h3 { margin: 0; font-size: 1.05rem; display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: baseline; }
article.op .summary { margin: 0.35rem 0 0; font-weight: 600; }
article.op .deprecated { color: var(--bad); font-weight: 600; }
.method {
  display: inline-block; min-width: 4.2em; text-align: center; padding: 0.1em 0.5em; border-radius: 6px;
  color: #fff; font-size: 0.8rem; font-weight: 700; letter-spacing: 0.03em; text-transform: uppercase;
  background: var(--other);
}
@media (prefers-color-scheme: dark) { .method { color: #111; } }
.method.get { background: var(--get); } .method.post { background: var(--post); }
.method.put { background: var(--put); } .method.patch { background: var(--patch); }
.method.delete { background: var(--delete); }
.path { overflow-wrap: anywhere; word-break: break-word; }
h4 { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); margin: 1.25rem 0 0.4rem; }
.note { color: var(--muted); font-size: 0.9rem; margin: 0.25rem 0; }
.security li { margin: 0.15rem 0; }
table.fields { width: 100%; border-collapse: collapse; font-size: 0.92rem; }
table.fields th, table.fields td { text-align: left; vertical-align: top; padding: 0.4rem 0.5rem; border-bottom: 1px solid var(--line); }
table.fields th { font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); font-weight: 600; }
table.fields td.name { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: break-word; }
table.fields td.type { color: var(--muted); overflow-wrap: anywhere; }
.req { color: var(--bad); font-weight: 600; font-size: 0.85rem; }
.opt { color: var(--muted); font-size: 0.85rem; }
ul.constraints { margin: 0; padding: 0; list-style: none; }
ul.constraints li { margin: 0 0 0.15rem; }
.response { border-top: 1px solid var(--line); padding: 0.5rem 0; }
.response > .head { display: flex; gap: 0.6rem; align-items: baseline; flex-wrap: wrap; }
.status { font-weight: 700; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.status.s2 { color: var(--ok); } .status.s3 { color: var(--accent); }
.status.s4 { color: var(--warn); } .status.s5 { color: var(--bad); }
details > summary { cursor: pointer; color: var(--accent); margin: 0.35rem 0; }
.error-box { border: 1px solid var(--bad); color: var(--bad); border-radius: 8px; padding: 1rem; }
.hidden { display: none !important; }
@media (max-width: 640px) {
  body { font-size: 15px; }
  main { padding: 0.75rem 0.75rem 3rem; }
  article.op { padding: 0.75rem; border-radius: 8px; }
  /* Tables become one compact block per row: name, type and required on one line. */
  table.fields, table.fields tbody, table.fields tr { display: block; width: 100%; }
  table.fields thead { display: none; }
  table.fields tr { border-bottom: 1px solid var(--line); padding: 0.45rem 0; }
  table.fields td { display: block; border: 0; padding: 0; }
  table.fields td.name, table.fields td.type, table.fields td.in, table.fields td.required { display: inline; margin-right: 0.5em; }
  table.fields td.name { font-weight: 600; }
  table.fields td.in::before { content: "in "; }
  table.fields td.empty { display: none; }
  table.fields td.rules, table.fields td.desc { margin-top: 0.15rem; font-size: 0.88rem; }
}
`;

/*
 * The renderer. Plain browser JavaScript, kept free of template literals and `${` because it
 * lives inside this TypeScript template string.
 */
const SCRIPT = String.raw`
(function () {
  'use strict';
  var METHODS = ['get', 'put', 'post', 'patch', 'delete', 'options', 'head', 'trace'];
  var BACKTICK = String.fromCharCode(96);
  var app = document.getElementById('app');

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'class') node.className = v;
        else if (k === 'text') node.textContent = v;
        else node.setAttribute(k, v === true ? '' : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === undefined || c === null || c === false) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  // Text with inline code spans between backticks; everything is inserted as text.
  function rich(tag, text, cls) {
    var node = el(tag, { class: cls });
    String(text).split(BACKTICK).forEach(function (part, i) {
      if (part === '') return;
      node.appendChild(i % 2 === 1 ? el('code', { text: part }) : document.createTextNode(part));
    });
    return node;
  }

  // A field path that may wrap after each dot rather than in the middle of a name.
  function breakable(text) {
    var out = [];
    String(text).split('.').forEach(function (part, i, all) {
      out.push(part + (i < all.length - 1 ? '.' : ''));
      if (i < all.length - 1) out.push(el('wbr'));
    });
    return out;
  }

  function paragraphs(text, cls) {
    var wrap = el('div', { class: cls });
    String(text).split(/\n\s*\n/).forEach(function (p) {
      if (p.trim() !== '') wrap.appendChild(rich('p', p.trim()));
    });
    return wrap;
  }

  function slug(s) {
    return String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
  }

  // ---- schemas -------------------------------------------------------------------------------

  function pointer(spec, ref) {
    if (typeof ref !== 'string' || ref.charAt(0) !== '#') return undefined;
    var node = spec;
    var parts = ref.slice(1).split('/').slice(1);
    for (var i = 0; i < parts.length; i++) {
      var key = decodeURIComponent(parts[i]).replace(/~1/g, '/').replace(/~0/g, '~');
      if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
      node = node[key];
    }
    return node;
  }

  function refName(ref) {
    var parts = String(ref).split('/');
    return parts[parts.length - 1];
  }

  // Follows $ref chains; returns { schema, name, cycle }.
  function resolve(spec, schema, seen) {
    var name;
    var guard = 0;
    while (schema && typeof schema === 'object' && typeof schema.$ref === 'string' && guard++ < 32) {
      name = refName(schema.$ref);
      if (seen.indexOf(schema.$ref) !== -1) return { schema: {}, name: name, cycle: true };
      seen = seen.concat([schema.$ref]);
      schema = pointer(spec, schema.$ref) || {};
    }
    return { schema: schema && typeof schema === 'object' ? schema : {}, name: name, cycle: false, seen: seen };
  }

  // allOf members are merged into one object schema for display.
  function merged(spec, schema, seen) {
    var r = resolve(spec, schema, seen);
    var s = r.schema;
    if (!Array.isArray(s.allOf)) return { schema: s, name: r.name, cycle: r.cycle, seen: r.seen || seen };
    var out = {};
    Object.keys(s).forEach(function (k) { if (k !== 'allOf') out[k] = s[k]; });
    out.properties = Object.assign({}, s.properties || {});
    out.required = (s.required || []).slice();
    s.allOf.forEach(function (part) {
      var p = merged(spec, part, r.seen || seen).schema;
      Object.keys(p).forEach(function (k) {
        if (k === 'properties') Object.assign(out.properties, p.properties);
        else if (k === 'required') out.required = out.required.concat(p.required);
        else if (!(k in out)) out[k] = p[k];
      });
    });
    return { schema: out, name: r.name, cycle: r.cycle, seen: r.seen || seen };
  }

  function typeLabel(spec, schema, seen) {
    var r = merged(spec, schema, seen);
    var s = r.schema;
    if (r.cycle) return r.name || 'object';
    var union = s.oneOf || s.anyOf;
    if (Array.isArray(union)) {
      return union.map(function (b) { return typeLabel(spec, b, r.seen); }).join(' | ');
    }
    var t = s.type;
    var label;
    if (Array.isArray(t)) label = t.join(' | ');
    else if (t === 'array') label = 'array of ' + (s.items ? typeLabel(spec, s.items, r.seen) : 'any');
    else if (t) label = t;
    else if (s.properties) label = 'object';
    else if (s.const !== undefined) label = typeof s.const;
    else if (Array.isArray(s.enum) && s.enum.length > 0) label = typeof s.enum[0];
    else label = 'any';
    if (s.format && t !== 'array') label += ' (' + s.format + ')';
    if (s.nullable === true) label += ' | null';
    return label;
  }

  function show(v) {
    return JSON.stringify(v);
  }

  function constraints(s) {
    var out = [];
    if (s.const !== undefined) out.push('exactly ' + show(s.const));
    if (Array.isArray(s.enum)) {
      out.push(s.enum.length === 1 ? 'exactly ' + show(s.enum[0]) : 'one of: ' + s.enum.map(show).join(', '));
    }
    if (s.minLength !== undefined && s.maxLength !== undefined) out.push('length ' + s.minLength + '..' + s.maxLength);
    else if (s.minLength === 1) out.push('non-empty');
    else if (s.minLength !== undefined) out.push('minLength ' + s.minLength);
    else if (s.maxLength !== undefined) out.push('maxLength ' + s.maxLength);
    if (s.minimum !== undefined) out.push('minimum ' + s.minimum);
    if (s.exclusiveMinimum !== undefined && s.exclusiveMinimum !== false) {
      out.push(s.exclusiveMinimum === true ? 'exclusive minimum' : '> ' + s.exclusiveMinimum);
    }
    if (s.maximum !== undefined) out.push('maximum ' + s.maximum);
    if (s.exclusiveMaximum !== undefined && s.exclusiveMaximum !== false) {
      out.push(s.exclusiveMaximum === true ? 'exclusive maximum' : '< ' + s.exclusiveMaximum);
    }
    if (s.multipleOf !== undefined) out.push('multiple of ' + s.multipleOf);
    if (s.pattern !== undefined) out.push('pattern ' + s.pattern);
    if (s.minItems !== undefined) out.push('minItems ' + s.minItems);
    if (s.maxItems !== undefined) out.push('maxItems ' + s.maxItems);
    if (s.uniqueItems === true) out.push('unique items');
    if (s.minProperties !== undefined) out.push('minProperties ' + s.minProperties);
    if (s.maxProperties !== undefined) out.push('maxProperties ' + s.maxProperties);
    if (s.additionalProperties === false) out.push('no other fields');
    if (s.default !== undefined) out.push('default ' + show(s.default));
    if (s.readOnly === true) out.push('read-only');
    if (s.writeOnly === true) out.push('write-only');
    if (s.deprecated === true) out.push('deprecated');
    if (s.example !== undefined) out.push('example ' + show(s.example));
    else if (Array.isArray(s.examples) && s.examples.length > 0) out.push('example ' + show(s.examples[0]));
    return out;
  }

  // Flattens a schema into rows: { name, type, required, constraints, description }. inherit
  // is added to every row of the subtree (e.g. which variant of a oneOf the field belongs to).
  function rows(spec, schema, path, required, seen, depth, inherit, out) {
    var r = merged(spec, schema, seen);
    var s = r.schema;
    var props = s.properties || {};
    var ap = s.additionalProperties;
    var union = s.oneOf || s.anyOf;
    var inner = r.seen || seen;
    if (path !== '') {
      var cons = constraints(s);
      if (ap === true && Object.keys(props).length === 0 && !union) cons.push('any keys');
      out.push({
        name: path, type: typeLabel(spec, schema, seen), required: required,
        constraints: cons.concat(inherit), description: s.description || s.title || ''
      });
    }
    if (r.cycle || depth > 8) return out;
    if (Array.isArray(union)) {
      union.forEach(function (branch, i) {
        var b = merged(spec, branch, inner).schema;
        if (!b.properties && !b.oneOf && !b.anyOf) return;
        var tag = 'in variant ' + (i + 1) + (b.title ? ' (' + b.title + ')' : '');
        var sub = rows(spec, branch, path, required, inner, depth + 1, inherit.concat([tag]), []);
        // The branch's own row repeats the union's; keep only its fields.
        (path === '' ? sub : sub.slice(1)).forEach(function (row) { out.push(row); });
      });
      return out;
    }
    if (s.type === 'array' && s.items) {
      var it = merged(spec, s.items, inner).schema;
      if (it.properties || it.oneOf || it.anyOf) {
        rows(spec, s.items, path + '[]', true, inner, depth + 1, inherit, []).slice(1).forEach(function (row) {
          out.push(row);
        });
      }
      return out;
    }
    var req = Array.isArray(s.required) ? s.required : [];
    Object.keys(props).forEach(function (k) {
      rows(spec, props[k], path === '' ? k : path + '.' + k, req.indexOf(k) !== -1, inner, depth + 1, inherit, out);
    });
    if (ap && typeof ap === 'object' && Object.keys(ap).length > 0) {
      rows(spec, ap, path === '' ? '<key>' : path + '.<key>', false, inner, depth + 1, inherit.concat(['any key']), out);
    }
    return out;
  }

  function fieldTable(spec, schema, known) {
    var r = merged(spec, schema, []);
    var s = r.schema;
    var wrap = el('div');
    var list = rows(spec, schema, '', true, [], 0, [], []);
    if (list.length === 0) {
      var what = typeLabel(spec, schema, []);
      var cons = constraints(s);
      wrap.appendChild(rich('p', what + (cons.length ? ' (' + cons.join('; ') + ')' : ''), 'note'));
      if (s.description) wrap.appendChild(rich('p', s.description, 'note'));
      return wrap;
    }
    if (r.name) wrap.appendChild(el('p', { class: 'note' }, ['Schema ', el('code', { text: r.name })]));
    if (s.description && s.description !== known) wrap.appendChild(rich('p', s.description, 'note'));
    if (s.additionalProperties === false) wrap.appendChild(el('p', { class: 'note', text: 'Fields not listed here are refused.' }));
    var tbody = el('tbody');
    list.forEach(function (row) {
      var consList = el('ul', { class: 'constraints' });
      row.constraints.forEach(function (c) { consList.appendChild(rich('li', c)); });
      tbody.appendChild(el('tr', null, [
        el('td', { class: 'name' }, breakable(row.name)),
        el('td', { class: 'type', text: row.type }),
        el('td', { class: 'required' }, [
          el('span', { class: row.required ? 'req' : 'opt', text: row.required ? 'required' : 'optional' })
        ]),
        row.constraints.length ? el('td', { class: 'rules' }, [consList]) : el('td', { class: 'rules empty opt', text: '-' }),
        row.description ? rich('td', row.description, 'desc') : el('td', { class: 'desc empty opt', text: '-' })
      ]));
    });
    wrap.appendChild(el('div', { class: 'table-wrap' }, [el('table', { class: 'fields' }, [
      el('thead', null, [el('tr', null, ['field', 'type', 'required', 'rules', 'description'].map(function (h) {
        return el('th', { scope: 'col', text: h });
      }))]),
      tbody
    ])]));
    return wrap;
  }

  // ---- operations ----------------------------------------------------------------------------

  function describeScheme(spec, name) {
    var schemes = (spec.components && spec.components.securitySchemes) || {};
    var s = resolve(spec, schemes[name], []).schema;
    var label;
    if (s.type === 'apiKey') label = 'API key in the ' + s.in + ' ' + BACKTICK + s.name + BACKTICK;
    else if (s.type === 'http' && String(s.scheme).toLowerCase() === 'basic') label = 'HTTP Basic';
    else if (s.type === 'http' && String(s.scheme).toLowerCase() === 'bearer') label = 'Bearer token';
    else if (s.type) label = s.type;
    else label = name;
    return label + (s.description ? ': ' + s.description : '');
  }

  function securityBlock(spec, op) {
    var reqs = op.security !== undefined ? op.security : spec.security;
    var wrap = el('div', { class: 'security' });
    wrap.appendChild(el('h4', { text: 'Authentication' }));
    if (!Array.isArray(reqs) || reqs.length === 0 || reqs.every(function (r) { return Object.keys(r).length === 0; })) {
      wrap.appendChild(el('p', { class: 'note', text: 'None required by the API document (see the description).' }));
      return wrap;
    }
    if (reqs.length > 1) wrap.appendChild(el('p', { class: 'note', text: 'Any one of:' }));
    var ul = el('ul');
    reqs.forEach(function (req) {
      var names = Object.keys(req);
      if (names.length === 0) { ul.appendChild(el('li', { text: 'no credentials' })); return; }
      ul.appendChild(rich('li', names.map(function (n) { return describeScheme(spec, n); }).join(' and ')));
    });
    wrap.appendChild(ul);
    return wrap;
  }

  function parametersBlock(spec, params) {
    if (params.length === 0) return null;
    var wrap = el('div');
    wrap.appendChild(el('h4', { text: 'Parameters' }));
    var tbody = el('tbody');
    params.forEach(function (raw) {
      var p = resolve(spec, raw, []).schema;
      var schema = p.schema || {};
      var s = merged(spec, schema, []).schema;
      var consList = el('ul', { class: 'constraints' });
      constraints(s).forEach(function (c) { consList.appendChild(rich('li', c)); });
      tbody.appendChild(el('tr', null, [
        el('td', { class: 'name' }, breakable(p.name)),
        el('td', { class: 'type in', text: p.in }),
        el('td', { class: 'type', text: typeLabel(spec, schema, []) }),
        el('td', { class: 'required' }, [
          el('span', { class: p.required ? 'req' : 'opt', text: p.required ? 'required' : 'optional' })
        ]),
        (function () {
          var td = rich('td', p.description || s.description || '', 'desc');
          if (consList.childNodes.length) td.appendChild(consList);
          return td;
        })()
      ]));
    });
    wrap.appendChild(el('table', { class: 'fields' }, [
      el('thead', null, [el('tr', null, ['name', 'in', 'type', 'required', 'description'].map(function (h) {
        return el('th', { scope: 'col', text: h });
      }))]),
      tbody
    ]));
    return wrap;
  }

  function contentBlocks(spec, content, openByDefault, seenBodies, label, known) {
    var out = [];
    Object.keys(content || {}).forEach(function (type) {
      var media = content[type] || {};
      if (!media.schema) { out.push(el('p', { class: 'note' }, ['Body: ', el('code', { text: type })])); return; }
      var key = type + ' ' + JSON.stringify(media.schema);
      if (seenBodies && seenBodies[key]) {
        out.push(el('p', { class: 'note', text: 'Body: same schema as ' + seenBodies[key] + '.' }));
        return;
      }
      if (seenBodies) seenBodies[key] = label;
      var details = el('details', { open: openByDefault }, [
        el('summary', null, ['Body schema (', el('code', { text: type }), ')']),
        fieldTable(spec, media.schema, known)
      ]);
      out.push(details);
    });
    return out;
  }

  function responsesBlock(spec, responses) {
    var wrap = el('div');
    wrap.appendChild(el('h4', { text: 'Responses' }));
    var seenBodies = {};
    Object.keys(responses || {}).sort().forEach(function (status) {
      var r = resolve(spec, responses[status], []).schema;
      var cls = 'status s' + String(status).charAt(0);
      var box = el('div', { class: 'response' }, [
        el('div', { class: 'head' }, [
          el('span', { class: cls, text: status }),
          rich('span', r.description && r.description !== 'Default Response' ? r.description : '')
        ])
      ]);
      contentBlocks(spec, r.content, String(status).charAt(0) === '2', seenBodies, status, r.description).forEach(function (n) {
        box.appendChild(n);
      });
      wrap.appendChild(box);
    });
    return wrap;
  }

  function operationId(method, path) {
    return 'op-' + method + '-' + slug(path);
  }

  function operationCard(spec, op, method, path, pathItem) {
    var card = el('article', { class: 'op', id: operationId(method, path) });
    card.setAttribute('data-search', [method, path, op.summary || '', op.description || '', op.operationId || ''].join(' ').toLowerCase());
    card.appendChild(el('h3', null, [
      el('span', { class: 'method ' + method, text: method }),
      el('span', { class: 'path', text: path })
    ]));
    if (op.summary) card.appendChild(rich('p', op.summary, 'summary'));
    if (op.deprecated) card.appendChild(el('p', { class: 'deprecated', text: 'Deprecated' }));
    if (op.description) card.appendChild(paragraphs(op.description, 'description'));
    card.appendChild(securityBlock(spec, op));
    var params = (pathItem.parameters || []).concat(op.parameters || []);
    var p = parametersBlock(spec, params);
    if (p) card.appendChild(p);
    if (op.requestBody) {
      var rb = resolve(spec, op.requestBody, []).schema;
      var body = el('div');
      body.appendChild(el('h4', { text: 'Request body' + (rb.required ? '' : ' (optional)') }));
      if (rb.description) body.appendChild(rich('p', rb.description, 'note'));
      contentBlocks(spec, rb.content, true, null, '', rb.description).forEach(function (n) { body.appendChild(n); });
      card.appendChild(body);
    }
    card.appendChild(responsesBlock(spec, op.responses));
    return card;
  }

  function render(spec) {
    var info = spec.info || {};
    document.title = (info.title || 'API') + ' - reference';
    app.textContent = '';
    var header = el('header', { class: 'page' }, [
      el('h1', { text: info.title || 'API reference' }),
      el('div', { class: 'version', text: 'version ' + (info.version || '?') + ' - OpenAPI ' + (spec.openapi || spec.swagger || '?') })
    ]);
    if (info.description) header.appendChild(paragraphs(info.description));
    header.appendChild(el('p', { class: 'note' }, ['Machine-readable document: ', el('a', { href: '/openapi.json', text: '/openapi.json' })]));
    app.appendChild(header);

    // Group operations by their first tag, keeping the document's tag order first.
    var groups = {};
    var order = [];
    var tagInfo = {};
    (spec.tags || []).forEach(function (t) { tagInfo[t.name] = t; order.push(t.name); groups[t.name] = []; });
    var total = 0;
    Object.keys(spec.paths || {}).forEach(function (path) {
      var item = resolve(spec, spec.paths[path], []).schema;
      METHODS.forEach(function (method) {
        var op = item[method];
        if (!op) return;
        var tag = (op.tags && op.tags[0]) || 'other';
        if (!groups[tag]) { groups[tag] = []; order.push(tag); }
        groups[tag].push({ op: op, method: method, path: path, item: item });
        total++;
      });
    });
    order = order.filter(function (t) { return groups[t].length > 0; });

    var search = el('input', { type: 'search', placeholder: 'Filter ' + total + ' operations by path, method or words', 'aria-label': 'Filter operations' });
    app.appendChild(el('div', { class: 'toolbar' }, [search]));

    var toc = el('ul');
    order.forEach(function (tag) {
      var sub = el('ul');
      groups[tag].forEach(function (g) {
        sub.appendChild(el('li', null, [
          el('a', { href: '#' + operationId(g.method, g.path) }, [
            el('span', { class: 'mono', text: g.method.toUpperCase() + ' ' }),
            g.op.summary || g.path
          ])
        ]));
      });
      toc.appendChild(el('li', null, [el('a', { class: 'tag-link', href: '#tag-' + slug(tag), text: tag + ' (' + groups[tag].length + ')' }), sub]));
    });
    app.appendChild(el('nav', { class: 'toc', 'aria-label': 'Operations' }, [
      el('details', { open: total <= 30 }, [el('summary', { text: 'Contents' }), toc])
    ]));

    var sections = [];
    order.forEach(function (tag) {
      var section = el('section', { class: 'tag', id: 'tag-' + slug(tag) }, [el('h2', { text: tag })]);
      if (tagInfo[tag] && tagInfo[tag].description) section.appendChild(paragraphs(tagInfo[tag].description, 'tag-description'));
      groups[tag].forEach(function (g) { section.appendChild(operationCard(spec, g.op, g.method, g.path, g.item)); });
      sections.push(section);
      app.appendChild(section);
    });
    if (total === 0) app.appendChild(el('p', { class: 'note', text: 'The API document lists no operations.' }));

    search.addEventListener('input', function () {
      var q = search.value.trim().toLowerCase();
      sections.forEach(function (section) {
        var any = false;
        Array.prototype.forEach.call(section.querySelectorAll('article.op'), function (card) {
          var hit = q === '' || card.getAttribute('data-search').indexOf(q) !== -1;
          card.classList.toggle('hidden', !hit);
          if (hit) any = true;
        });
        section.classList.toggle('hidden', !any);
      });
    });

    if (location.hash.length > 1) {
      var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target) target.scrollIntoView();
    }
    document.body.setAttribute('data-rendered', String(total));
  }

  function fail(err) {
    app.textContent = '';
    app.appendChild(el('div', { class: 'error-box', role: 'alert' }, [
      el('strong', { text: 'Could not load the API document. ' }),
      el('span', { text: String(err && err.message ? err.message : err) + ' ' }),
      el('a', { href: '/openapi.json', text: 'Open /openapi.json' })
    ]));
    document.body.setAttribute('data-rendered', 'error');
  }

  fetch('/openapi.json', { headers: { accept: 'application/json' }, credentials: 'same-origin' })
    .then(function (res) {
      if (!res.ok) throw new Error('GET /openapi.json answered ' + res.status + '.');
      return res.json();
    })
    .then(render)
    .catch(fail);
})();
`;

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>API reference</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<main id="app">
<p>Loading the API reference from <a href="/openapi.json">/openapi.json</a>...</p>
<noscript><p>This page renders /openapi.json with JavaScript. Without it, read the
<a href="/openapi.json">OpenAPI document</a> directly.</p></noscript>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string): string =>
  `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * Allows this page's own inline style and script (by hash), a fetch to the same origin, and
 * nothing else: no remote script, style, font, image or frame.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
