// Helpers for the admin screen tests (issue 25): one server with two admins and people of other
// roles, console pages on the Admin view, the screens' tables and forms, the server's errors next
// to their fields, a permission the console is made to believe it has (to see the API's own
// refusal), and whether this server announces `settings.changed` at all.

import assert from 'node:assert/strict';
import { ADMIN_EMAIL, ADMIN_PASSWORD, ChorusServer, api, consolePage, createAgent, launchBrowser, loginToken } from './harness.js';
import { axeViolations } from './workspace-helpers.js';

export const PEOPLE = {
  bea: { email: 'bea@skybridge.example', name: 'Bea Adeyemi', roles: ['admin'] },
  sam: { email: 'sam@skybridge.example', name: 'Sam Okafor', roles: ['supervisor'] },
  pia: { email: 'pia@skybridge.example', name: 'Pia Lund', roles: ['approver'] },
  ana: { email: 'ana@skybridge.example', name: 'Ana Ruiz', roles: ['agent'] },
};

/**
 * A server (with `env` added to its environment), a browser, the first admin's token and the
 * people above (ids in `people`, tokens in `tokens`). `pages` is for the test's pages (teardown
 * checks their errors).
 */
export async function adminScene({ env = {} } = {}) {
  const srv = new ChorusServer({ env });
  await srv.start();
  const browser = await launchBrowser();
  const admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  const people = {};
  const tokens = { admin };
  for (const [key, p] of Object.entries(PEOPLE)) {
    people[key] = await createAgent(srv.base, admin, p);
    tokens[key] = await loginToken(srv.base, p.email, 'agent-password-e2e');
  }
  return { srv, browser, admin, people, tokens, pages: {} };
}

// The console's own refusals the tests provoke on purpose (and the 404s of server parts other
// work adds) are logged by the browser as failed loads.
export const EXPECTED_ERRORS = /status of (400|403|404|409)/;

/**
 * A console page signed in as `who` (a PEOPLE key or "admin") on the Admin view, showing screen
 * `screen` (read). `extraPermissions` makes the console believe GET /api/v1/me listed them (the
 * server still refuses: that is what a test of "forced" access looks for).
 */
export async function openAdmin(scene, who, screen = null, { extraPermissions = null, hash = '#admin' } = {}) {
  const email = who === 'admin' ? ADMIN_EMAIL : PEOPLE[who].email;
  const password = who === 'admin' ? ADMIN_PASSWORD : undefined;
  const setup = extraPermissions
    ? (context) =>
        context.route('**/api/v1/me', async (route) => {
          const res = await route.fetch();
          const json = await res.json();
          json.permissions = [...new Set([...(json.permissions || []), ...extraPermissions])];
          await route.fulfill({ response: res, json });
        })
    : null;
  const page = await consolePage(scene.browser, scene.srv.base, email, password, { hash, setup, contextOptions: { bypassCSP: true } });
  if (screen) await showScreen(page, screen);
  return page;
}

/** Shows screen `id` and waits until it has been read (rows, "none yet", or a message). */
export async function showScreen(page, id) {
  await page.click(`#adm-tab-${id}`);
  await page.waitForSelector(`#adm-panel-${id}`, { state: 'visible' });
  await page.waitForFunction(
    (s) => {
      const p = document.querySelector(`#adm-panel-${s}`);
      return p && (p.querySelector('tbody tr') || !p.querySelector('.empty').hidden || p.querySelector('.adm-msg').textContent);
    },
    id,
    { timeout: 10000 },
  );
}

/** The ids of the admin screens this page offers. */
export function screenIds(page) {
  return page.evaluate(() => [...document.querySelectorAll('#view-admin [role="tab"]')].map((t) => t.dataset.screen));
}

export const row = (id, name) => `#adm-${id}-rows tr[data-name="${name.replace(/"/g, '\\"')}"]`;

/** The names of the rows on screen `id`. */
export function rowNames(page, id) {
  return page.evaluate((s) => [...document.querySelectorAll(`#adm-${s}-rows tr`)].map((tr) => tr.dataset.name), id);
}

/** The text of the row named `name` on screen `id` (cells joined by " | "). */
export function rowText(page, id, name) {
  return page.evaluate((sel) => [...document.querySelector(sel).children].map((c) => c.textContent.trim()).join(' | '), row(id, name));
}

/** Waits for the row named `name` (whose cells, joined by " | ", match `text`; gone: until it is not there). */
export async function waitRow(page, id, name, { gone = false, text = null, timeout = 10000 } = {}) {
  try {
    await waitRowOnce(page, id, name, { gone, text, timeout });
  } catch (e) {
    // Say what the screen shows instead.
    const rows = await page.evaluate((s) => [...document.querySelectorAll(`#adm-${s}-rows tr`)].map((tr) => [...tr.children].map((c) => c.textContent.trim()).join(' | ')), id).catch(() => []);
    throw new Error(`${e.message}\nwaiting for row "${name}"${gone ? ' to go' : ''}${text ? ` matching ${text}` : ''} on ${id}; rows: ${JSON.stringify(rows)}`);
  }
}

async function waitRowOnce(page, id, name, { gone, text, timeout }) {
  await page.waitForFunction(
    ([sel, gone, text]) => {
      const tr = document.querySelector(sel);
      if (gone) return !tr;
      // Cells joined by " | ", as rowText has them.
      return tr && (!text || new RegExp(text).test([...tr.children].map((c) => c.textContent.trim()).join(' | ')));
    },
    [row(id, name), gone, text ? text.source : null],
    { timeout },
  );
}

/** Opens the "New" form of screen `id`. */
export async function openNew(page, id) {
  await page.click(`#adm-${id}-new`);
  await page.waitForSelector('#admin-dialog[open] form.adm-form');
}

/** Opens the edit form of the row named `name`. */
export async function openEdit(page, id, name) {
  await page.click(`${row(id, name)} button[data-action="edit"]`);
  await page.waitForSelector(`#admin-dialog[open] form.adm-form[data-screen="${id}"]`);
}

/** Presses a row's action button (`action`: delete, toggle, revoke…), confirming when asked. */
export async function rowAction(page, id, name, action, { confirm = true } = {}) {
  await page.click(`${row(id, name)} button[data-action="${action}"]`);
  if (confirm) {
    await page.waitForSelector('#admin-confirm[open]');
    await page.click('#admin-confirm-yes');
  }
}

const control = (name) => `#admin-dialog [name="${name}"]`;

/**
 * Fills the open form: strings go into text boxes and selects, booleans into a checkbox, arrays
 * into the checkbox group of that name (exactly those ticked).
 */
export async function fill(page, values) {
  for (const [name, value] of Object.entries(values)) {
    if (Array.isArray(value)) {
      const boxes = await page.$$(`${control(name)}[type="checkbox"]`);
      assert.ok(boxes.length, `checkboxes ${name}`);
      for (const box of boxes) {
        const v = await box.getAttribute('value');
        const want = value.map(String).includes(v);
        if ((await box.isChecked()) !== want && (await box.isEnabled())) await box.setChecked(want);
      }
    } else if (typeof value === 'boolean') {
      await page.setChecked(control(name), value);
    } else {
      const tag = await page.$eval(control(name), (el) => el.tagName);
      if (tag === 'SELECT') await page.selectOption(control(name), String(value));
      else await page.fill(control(name), String(value));
    }
  }
}

/** Presses Save / Create and waits for the dialog to close (or, `secret`, to show the secret). */
export async function save(page, { secret = false } = {}) {
  await page.click('#admin-form-save');
  if (secret) {
    await page.waitForSelector('#admin-secret');
    return page.inputValue('#admin-secret');
  }
  await page.waitForSelector('#admin-dialog', { state: 'hidden', timeout: 10000 });
  return null;
}

/**
 * Presses Save and waits for the server's refusal next to field `name`: returns its text,
 * after checking the field is marked invalid and the form is still open.
 */
export async function saveExpectingError(page, name) {
  await page.click('#admin-form-save');
  const sel = `#admin-dialog [data-field="${name}"]`;
  const text = await page.waitForFunction((s) => document.querySelector(s)?.querySelector('.adm-field-error:not([hidden])')?.textContent || null, sel, { timeout: 10000 });
  const marked = await page.$eval(sel, (w) => w.classList.contains('adm-invalid') && w.querySelector('[aria-invalid="true"]') !== null);
  assert.ok(marked, `${name} is marked invalid`);
  assert.ok(await page.isVisible('#admin-dialog[open]'), 'the form stays open');
  return text.jsonValue();
}

/** The error at the top of the open form (what no field claims, e.g. a 403). */
export async function formError(page) {
  const h = await page.waitForFunction(() => document.querySelector('#admin-form-error')?.textContent || null, null, { timeout: 10000 });
  return h.jsonValue();
}

export async function cancel(page) {
  await page.click('#admin-form-cancel');
  await page.waitForSelector('#admin-dialog', { state: 'hidden' });
}

/** Waits until the page knows whether the server announces settings changes: true when it does. */
export async function liveSettings(page) {
  const h = await page.waitForFunction(() => {
    const s = document.querySelector('#admin-live')?.dataset.state;
    return s === 'on' || s === 'unsupported' ? s : null;
  }, null, { timeout: 15000 });
  return (await h.jsonValue()) === 'on';
}

/** Skips the test (with the reason) when this server has no `settings.changed`. */
export async function needsLiveSettings(t, page) {
  if (await liveSettings(page)) return true;
  t.skip('this server does not announce settings.changed yet (issue 25, contract A)');
  return false;
}

/** The newest audit entries for `action` (as the admin). */
export async function audited(scene, action, targetId = null) {
  const q = new URLSearchParams({ action });
  if (targetId != null) q.set('target_id', String(targetId));
  return (await api(scene.srv.base, 'GET', `/api/v1/audit?${q}`, { token: scene.admin })).entries;
}

/** axe on the page as it is (the Admin view, a form open…): serious and critical violations. */
export async function checkA11y(page, where) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const v = await axeViolations(page);
  assert.deepEqual(v, [], `${where}: ${JSON.stringify(v, null, 2)}`);
}
