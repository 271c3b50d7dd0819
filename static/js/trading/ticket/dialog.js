/*
 * The order ticket on the page: a modal <dialog> (keyboard: Tab through labelled fields,
 * Escape closes) over one draft (model.js) and its steps (flow.js). DOM only;
 * never innerHTML. What the browser tests read (tests/browser/README.md):
 *   #trade-ticket[data-phase]          editing | previewing | previewed | confirming | sent
 *   [data-ticket-account] [data-ticket-action="<leg>"] [data-ticket-quantity="<leg>"]
 *   [data-ticket-type] [data-ticket-price] [data-ticket-tif]          the form
 *   [data-ticket-stop] (Stop, Stop Limit) [data-ticket-trail] [data-ticket-trail-unit]
 *   (Trailing Stop: amount | percent) [data-ticket-notional] (Notional Market: the dollar
 *   amount, in place of the legs' quantity); a field the type takes none of is hidden, disabled
 *   [data-ticket-preview] [data-ticket-confirm][data-armed] [data-ticket-repreview] [data-ticket-close]
 *   [data-ticket-words] [data-ticket-effect] [data-ticket-warnings] [data-ticket-countdown]
 *   [data-ticket-exits] [data-ticket-take-profit] [data-ticket-stop-loss]: exits placed with
 *   the order (both: a bracket; one: an OTO), or, in a position's Protect… (data-protect on
 *   the dialog), the order itself (both: an OCO); shown where the broker links orders
 *   [data-ticket-second-confirm] (shown once Confirm is armed: "Confirm anyway", data-armed),
 *   [data-ticket-warnings] li[data-second-confirm] (the warning that asks for it, in <strong>)
 *   [data-ticket-error][data-code] (+ a[data-ticket-trading-link] for /trading)
 *   [data-ticket-result][data-ticket-state][data-order-id] and [data-ticket-order-status]
 *   (the order's status on the stream, or each of its group's by role; data-filled, the filled quantity).
 *   [data-ticket-leg] legend: the leg's display name (data-symbol: its contract symbol);
 *   [data-ticket-quote][data-symbol][data-bid][data-ask]: its own live quote, as the stream has it;
 *   [data-ticket-unoffered]: why the brokers of the accounts not offered take no such order.
 */
import { el, setAttr, setText } from '../../stream/render/dom.js';
import { SECOND_CONFIRM_TEXT, countdownText, followTicket, placedCount, previewWarnings } from './model.js';
import { orderBody } from './body.js';
import { previewOdds } from '../../stream/odds.js';
import { legName } from './drafts.js';
import { ACTIONS, accountChoices, brokerOffers, exitsOffered, typeFields, unofferedBrokers } from './offers.js';
import { midOf, prefillPrice, prefillStopPrice, protectPrices } from './prices.js';
import { createTicketFlow } from './flow.js';
import { dismissModal } from './modal.js';

const money = (v) => (typeof v === 'number' ? v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : null);
const EFFECT_WORDS = [['cost', 'Cost'], ['fees', 'Fees'], ['buying_power_before', 'Buying power before'], ['buying_power_after', 'Buying power after'], ['margin_change', 'Margin change']];
/** Which buying power the effect's are (its `buying_power_kind`): the order's own, named as
 *  the account card names them (its Buying power is the stock one, its Option BP the other). */
const BUYING_POWER_WORDS = { equity: 'Stock buying power', derivative: 'Option buying power' };
const effectLabel = (key, label, effect) => {
  const which = BUYING_POWER_WORDS[effect.buying_power_kind];
  return which && key.startsWith('buying_power_') ? `${which} ${label.split(' ').pop()}` : label;
};

function selectOf(name, label, values, attrs) {
  const select = el('select', { name, ...attrs }, ...values.map(([v, t]) => el('option', { value: v }, t)));
  return [select, el('label', { class: 'ticket-field' }, label, ' ', select)];
}

/** env: {doc, api, getState(), now() (server ms), randomUUID, setTimeout, clearTimeout,
 *  setInterval, clearInterval, subscribe(symbols)?: the legs stream while it is open}. Opens
 *  one ticket at a time. */
export function createTicket(env) {
  const { doc } = env;
  let open = null;

  function openTicket(draft) {
    if (open) open.close();
    const state = env.getState();
    const quote = (sym) => state.quotes.get(sym);
    const opener = doc.activeElement;
    const legs = draft.legs.map((l) => ({ ...l }));
    const allChoices = accountChoices(state.accounts);
    let choices = allChoices.filter((c) => !brokerOffers(c.broker, legs).error);
    // the brokers that take none of it, said in words (Tradier and a coin)
    const unoffered = draft.accountFixed ? [] : unofferedBrokers(allChoices, legs);
    const unofferedNote = el('p', { class: 'ticket-note muted', 'data-ticket-unoffered': '', hidden: !unoffered.length }, unoffered.join(' '));
    let priceTouched = false;
    let stopTouched = false;
    let formError = null; // the ticket's own check of the form (a sentence), until the next edit

    const [account, accountLabel] = selectOf('account', 'Account', [], { 'data-ticket-account': '', required: true });
    const legRows = legs.map((leg, i) => {
      const [action, actionLabel] = selectOf(`action-${i}`, 'Action', ACTIONS.map((a) => [a, a]), { 'data-ticket-action': String(i) });
      action.value = leg.action;
      action.disabled = !!draft.replaces;
      const quantity = el('input', { name: `quantity-${i}`, type: 'text', inputmode: 'numeric', size: '7', value: String(leg.quantity), 'data-ticket-quantity': String(i) });
      const quantityLabel = el('label', { class: 'ticket-field' }, 'Quantity ', quantity);
      const legend = el('legend', { 'data-symbol': leg.symbol, title: leg.symbol }, legName(draft, leg.symbol));
      return { action, quantity, quantityLabel, node: el('fieldset', { class: 'ticket-leg', 'data-ticket-leg': String(i) }, legend, actionLabel, quantityLabel) };
    });
    const [type, typeLabel] = selectOf('order_type', 'Order type', [], { 'data-ticket-type': '' });
    const price = el('input', { name: 'price', type: 'text', inputmode: 'decimal', size: '9', value: draft.price || '', 'data-ticket-price': '' });
    const priceLabel = el('label', { class: 'ticket-field' }, 'Price ', price);
    const stop = el('input', { name: 'stop_price', type: 'text', inputmode: 'decimal', size: '9', value: draft.stop_price || '', 'data-ticket-stop': '' });
    const stopLabel = el('label', { class: 'ticket-field' }, 'Stop price ', stop);
    // a Notional Market order: a dollar amount instead of a quantity
    const dollars = el('input', { name: 'notional', type: 'text', inputmode: 'decimal', size: '9', value: '', 'data-ticket-notional': '' });
    const dollarsLabel = el('label', { class: 'ticket-field' }, 'Amount in dollars ', dollars);
    const draftTrail = draft.trail || {};
    const trailText = draftTrail.percent ?? draftTrail.amount ?? '';
    const trail = el('input', { name: 'trail', type: 'text', inputmode: 'decimal', size: '7', value: String(trailText), 'data-ticket-trail': '' });
    const trailUnit = el('select', { name: 'trail_unit', 'data-ticket-trail-unit': '' }, el('option', { value: 'amount' }, '$'), el('option', { value: 'percent' }, '%'));
    trailUnit.value = draftTrail.percent !== undefined && draftTrail.percent !== null ? 'percent' : 'amount';
    // the unit's label is read out, not shown: the $ / % beside the number says it
    const trailField = el('span', { class: 'ticket-field', 'data-ticket-trail-field': '' },
      el('label', null, 'Trail ', trail), ' ', el('label', null, el('span', { class: 'sr-only' }, 'Trail in dollars or percent'), trailUnit));
    const [tif, tifLabel] = selectOf('time_in_force', 'Time in force', [], { 'data-ticket-tif': '' });
    const exitInput = (name, attr, value) => el('input', { name, type: 'text', inputmode: 'decimal', size: '9', value: value || '', [attr]: '' });
    // Protect… starts both from the mark (drafts.js protectPosition); a bracket's are optional
    const takeProfit = exitInput('take_profit', 'data-ticket-take-profit', draft.exits && draft.exits.take);
    const stopLoss = exitInput('stop_loss', 'data-ticket-stop-loss', draft.exits && draft.exits.stop);
    let exitsTouched = false;
    const exitsBox = el('fieldset', { class: 'ticket-exits', 'data-ticket-exits': '' },
      el('legend', null, draft.protect ? 'Protect with' : 'Exits (optional: a bracket)'),
      el('label', { class: 'ticket-field' }, 'Take-profit limit ', takeProfit),
      el('label', { class: 'ticket-field' }, 'Stop-loss stop ', stopLoss));
    const quoteLine = el('p', { class: 'ticket-quote muted', 'data-ticket-quote': '' });
    const tradingNote = el('p', { class: 'ticket-note', 'data-ticket-trading': '', hidden: true });
    const words = el('p', { class: 'ticket-words', 'data-ticket-words': '' });
    // the odds of the position the order opens (`preview.odds`; stream/odds.js `previewOdds`)
    const odds = el('p', { class: 'ticket-odds', 'data-ticket-odds': '', hidden: true });
    const effect = el('dl', { class: 'ticket-effect', 'data-ticket-effect': '' });
    const warnings = el('ul', { class: 'ticket-warnings', 'data-ticket-warnings': '' });
    const countdown = el('p', { class: 'ticket-countdown muted', 'data-ticket-countdown': '' });
    const secondNote = el('p', { class: 'ticket-note', role: 'alert', 'data-ticket-second-confirm': '', hidden: true }, SECOND_CONFIRM_TEXT);
    const previewBox = el('section', { class: 'ticket-preview', 'data-ticket-preview-box': '', 'aria-label': 'Preview', hidden: true }, words, odds, effect, warnings, countdown, secondNote);
    const errorText = el('span', { 'data-ticket-error-text': '' });
    const tradingLink = el('a', { href: '/trading', 'data-ticket-trading-link': '', hidden: true }, 'Trading settings');
    const error = el('p', { class: 'form-error', role: 'alert', 'data-ticket-error': '', hidden: true }, errorText, ' ', tradingLink);
    const ticketState = el('p', { 'data-ticket-state': '' });
    const orderStatus = el('p', { class: 'ticket-order-status', role: 'status', 'aria-live': 'polite', 'data-ticket-order-status': '' });
    const result = el('section', { class: 'ticket-result', 'data-ticket-result': '', 'aria-label': 'Order', hidden: true }, ticketState, orderStatus);
    const button = (attr, text, cls = 'btn') => el('button', { type: 'button', class: cls, [attr]: '' }, text);
    const previewBtn = button('data-ticket-preview', 'Preview', 'btn btn-primary');
    const repreviewBtn = button('data-ticket-repreview', 'Preview again', 'btn btn-primary');
    const confirmBtn = button('data-ticket-confirm', 'Confirm', 'btn btn-primary');
    const checkBtn = button('data-ticket-check', 'Check again');
    const closeBtn = button('data-ticket-close', 'Close');
    const title = el('h2', { id: 'trade-ticket-title' }, draft.title);
    const form = el('form', { method: 'dialog', class: 'ticket-form', novalidate: true },
      title, accountLabel, unofferedNote, ...legRows.map((r) => r.node), typeLabel, dollarsLabel, stopLabel, priceLabel, trailField, exitsBox, tifLabel, quoteLine,
      previewBox, error, result, el('div', { class: 'ticket-buttons' }, previewBtn, repreviewBtn, confirmBtn, checkBtn, closeBtn),
      // last: the server's answer on trading (after the ticket opens) moves no control
      tradingNote);
    const dialog = el('dialog', {
      id: 'trade-ticket', class: 'trade-ticket', 'aria-labelledby': 'trade-ticket-title', 'data-replaces': draft.replaces,
      'data-protect': draft.protect ? '' : null,
    }, form);

    const flow = createTicketFlow(env, () => draw());

    function fillAccounts() {
      const opts = [];
      if (draft.accountFixed && draft.account) {
        const c = choices.find((x) => x.link === draft.account.link && x.account === draft.account.account);
        opts.push([`${draft.account.link}|${draft.account.account}`, c ? c.text : draft.account.account]);
      } else {
        opts.push(['', 'Choose an account…']);
        for (const c of choices) opts.push([c.value, c.text]);
      }
      const was = account.value || (draft.account ? `${draft.account.link}|${draft.account.account}` : '');
      account.replaceChildren(...opts.map(([v, t]) => el('option', { value: v }, t)));
      account.value = opts.some(([v]) => v === was) ? was : '';
      account.disabled = !!draft.accountFixed;
    }

    const chosenBroker = () => {
      const c = choices.find((x) => x.value === account.value);
      return c ? c.broker : '';
    };
    /** A select's options, keeping the value chosen where it is still offered. */
    function offer(select, values, want) {
      const now = Array.from(select.options || [], (o) => o.value);
      if (now.length !== values.length || now.some((v, i) => v !== values[i])) select.replaceChildren(...values.map((v) => el('option', { value: v }, v)));
      select.value = values.includes(want) ? want : values[0];
    }

    /** The order types and times in force the chosen account's broker takes of the
     *  instrument's kind (a market order's, a dollar amount's own). */
    function brokerFields() {
      offer(type, brokerOffers(chosenBroker(), legs).orderTypes, type.value || draft.order_type);
      timesInForce();
      typeFieldsShown();
    }
    function timesInForce() {
      const offers = brokerOffers(chosenBroker(), legs, draft.protect ? null : type.value);
      offer(tif, offers.timesInForce, tif.value || draft.time_in_force);
    }

    /** Only the fields the order type takes: shown and enabled (a price for Limit and Stop
     *  Limit, a stop price for Stop and Stop Limit, a trail for Trailing Stop). `locked`:
     *  a preview or a confirm is under way (the unit, a select, cannot be read-only). */
    function typeFieldsShown(locked = false) {
      // Protect…'s order is its exits: no type, price, stop or trail of its own
      const f = draft.protect ? { price: false, stop: false, trail: false } : typeFields(type.value);
      typeLabel.hidden = !!draft.protect;
      priceLabel.hidden = !f.price;
      price.disabled = !f.price;
      stopLabel.hidden = !f.stop;
      stop.disabled = !f.stop;
      trailField.hidden = !f.trail;
      trail.disabled = !f.trail;
      trailUnit.disabled = !f.trail || locked;
      const sized = f.quantity !== false; // Protect…'s exits are sized
      dollarsLabel.hidden = sized;
      dollars.disabled = sized;
      const c = choices.find((x) => x.value === account.value);
      const parts = brokerOffers(c ? c.broker : '', legs).places > 0;
      for (const r of legRows) {
        r.quantityLabel.hidden = !sized;
        r.quantity.disabled = !sized;
        setAttr(r.quantity, 'inputmode', parts ? 'decimal' : 'numeric');
      }
      const exits = !draft.replaces && exitsOffered(c ? c.broker : '', formLegs(), type.value, !!draft.protect);
      exitsBox.hidden = !exits;
      takeProfit.disabled = stopLoss.disabled = !exits;
    }

    /** The legs as the form has them now (the trader's actions and quantities). */
    function formLegs() {
      legRows.forEach((r, i) => { legs[i].action = r.action.value; legs[i].quantity = r.quantity.value; });
      return legs;
    }

    const liveQuote = (sym) => env.getState().quotes.get(sym) || draft.quote;

    function values() {
      const [link, number] = account.value ? account.value.split('|') : [];
      const chosen = choices.find((x) => x.value === account.value);
      return {
        notional: dollars.value, places: brokerOffers(chosen ? chosen.broker : '', legs).places,
        account: account.value ? { link: Number(link), account: number } : null, legs: formLegs(),
        order_type: type.value, price: price.value, stop_price: stop.value, trail: { [trailUnit.value]: trail.value },
        time_in_force: tif.value, replaces: draft.replaces, protect: !!draft.protect,
        exits: exitsBox.hidden ? null : { take: takeProfit.value, stop: stopLoss.value },
      };
    }

    function draw() {
      const v = flow.view();
      const s = env.getState();
      setAttr(dialog, 'data-phase', v.phase);
      // a leg's quote that came after the ticket opened prefills the price the trader left empty
      if (v.phase === 'editing' && !priceTouched && !price.value && typeFields(type.value).price) {
        price.value = prefillPrice(legs, (sym) => s.quotes.get(sym) || draft.quote) || '';
      }
      // Protect…'s exits, from a mark that came after the ticket opened
      if (v.phase === 'editing' && draft.protect && !exitsTouched && !takeProfit.value && !stopLoss.value) {
        const exits = protectPrices(formLegs()[0], midOf(liveQuote(legs[0].symbol)) ?? draft.mark);
        if (exits) { takeProfit.value = exits.take || ''; stopLoss.value = exits.stop || ''; }
      }
      // and the stop price, the same way (a tick beyond the market)
      if (v.phase === 'editing' && !stopTouched && !stop.value && typeFields(type.value).stop) {
        stop.value = prefillStopPrice(formLegs(), liveQuote) || '';
      }
      const busy = v.phase === 'previewing' || v.phase === 'confirming';
      const locked = v.phase !== 'editing' && v.phase !== 'previewed';
      for (const f of [price, stop, trail, dollars, takeProfit, stopLoss, ...legRows.map((r) => r.quantity)]) f.readOnly = locked;
      for (const f of [type, tif]) f.disabled = locked;
      for (const r of legRows) r.action.disabled = locked || !!draft.replaces;
      account.disabled = !!draft.accountFixed || locked;
      typeFieldsShown(locked);
      setAttr(form, 'aria-busy', busy ? 'true' : 'false');
      // the preview
      const p = v.phase === 'previewed' || v.phase === 'confirming' ? v.preview : null;
      previewBox.hidden = !p;
      if (p) {
        setText(words, `${p.simulated ? '[SIMULATED] ' : ''}${p.words}`);
        const line = previewOdds(p.odds);
        odds.hidden = !line;
        setText(odds, line ? line.text : '');
        setAttr(odds, 'title', line && line.title ? line.title : null);
        const rows = EFFECT_WORDS.filter(([k]) => p.effect && money(p.effect[k]) !== null)
          .flatMap(([k, label]) => [el('dt', null, effectLabel(k, label, p.effect)), el('dd', { 'data-effect': k }, money(p.effect[k]))]);
        if (effect.childElementCount !== rows.length || effect.getAttribute('data-preview') !== p.id) effect.replaceChildren(...rows);
        setAttr(effect, 'data-preview', p.id);
        // the warning a second confirm is for stands out
        if (warnings.getAttribute('data-preview') !== p.id) {
          warnings.replaceChildren(...previewWarnings(p).map((w) => (w.strong
            ? el('li', { 'data-second-confirm': '' }, el('strong', null, w.text))
            : el('li', null, w.text))));
        }
        setAttr(warnings, 'data-preview', p.id);
        setText(countdown, countdownText(p.expires_at, env.now()));
        setAttr(countdown, 'data-seconds', String(v.secondsLeft));
      }
      // the error: the server's refusal, else the form's own
      const shownError = v.error || (formError && { text: formError, code: 'form' });
      error.hidden = !shownError;
      setText(errorText, shownError ? shownError.text : '');
      setAttr(error, 'data-code', shownError ? shownError.code || '' : null);
      tradingLink.hidden = !(v.error && v.error.tradingPage);
      // the buttons
      const expired = !!p && v.secondsLeft === 0 && !(v.error && v.error.resend);
      previewBtn.hidden = v.phase === 'sent' || !!p;
      previewBtn.disabled = busy;
      repreviewBtn.hidden = !(expired || (v.error && v.error.repreview));
      confirmBtn.hidden = !p;
      confirmBtn.disabled = v.phase !== 'previewed' || expired;
      setText(confirmBtn, v.error && v.error.resend ? 'Send again' : v.armed ? 'Confirm anyway' : 'Confirm');
      setAttr(confirmBtn, 'data-armed', p && v.armed ? 'true' : null);
      secondNote.hidden = !(p && v.armed);
      // the ticket and its order on the stream
      result.hidden = !v.ticket;
      checkBtn.hidden = !(v.ticket && (v.ticket.state === 'placing' || v.ticket.state === 'unknown'));
      if (v.ticket) {
        const t = v.ticket;
        setAttr(result, 'data-ticket-state', t.state);
        setAttr(result, 'data-order-id', t.order_id === null || t.order_id === undefined ? null : String(t.order_id));
        const said = t.state === 'rejected' && t.said ? `: ${typeof t.said === 'string' ? t.said : JSON.stringify(t.said)}` : '';
        setText(ticketState, `${t.words || ''} — ${t.state}${t.order_id ? ` (order ${t.order_id})` : ''}${said}`);
        // the order it placed, or each order of the group it placed, as the stream has them
        const f = t.state === 'placed' ? followTicket(s.orders, t.link, t.order_id, placedCount(v.preview && v.preview.order)) : null;
        setAttr(orderStatus, 'data-status', f ? f.status : null);
        setAttr(orderStatus, 'data-filled', f ? f.filled : null);
        setText(orderStatus, f ? f.text : '');
      }
      // the live quote of a single leg: its own, by its contract symbol
      const q = legs.length === 1 ? s.quotes.get(legs[0].symbol) || draft.quote || null : null;
      const name = legs.length === 1 ? legName(draft, legs[0].symbol) : '';
      setText(quoteLine, q ? `${name}: bid ${q.bid ?? '—'} · ask ${q.ask ?? '—'}` : legs.length === 1 ? `${name}: no quote yet` : '');
      setAttr(quoteLine, 'data-symbol', legs.length === 1 ? legs[0].symbol : null);
      setAttr(quoteLine, 'data-bid', q && q.bid !== null && q.bid !== undefined ? String(q.bid) : null);
      setAttr(quoteLine, 'data-ask', q && q.ask !== null && q.ask !== undefined ? String(q.ask) : null);
    }

    const edited = () => { formError = null; flow.edited(); draw(); };
    account.addEventListener('change', () => { brokerFields(); edited(); });
    type.addEventListener('change', () => {
      // a stop starts a tick beyond the market on the protective side, from the live quote
      if (typeFields(type.value).stop && !stop.value) stop.value = prefillStopPrice(formLegs(), liveQuote) || '';
      timesInForce(); // a market order's times in force are the kind's own
      typeFieldsShown();
      edited();
    });
    tif.addEventListener('change', edited);
    price.addEventListener('input', () => { priceTouched = true; edited(); });
    stop.addEventListener('input', () => { stopTouched = true; edited(); });
    trail.addEventListener('input', edited);
    takeProfit.addEventListener('input', () => { exitsTouched = true; edited(); });
    stopLoss.addEventListener('input', () => { exitsTouched = true; edited(); });
    trailUnit.addEventListener('change', edited);
    for (const r of legRows) {
      r.quantity.addEventListener('input', edited);
      r.action.addEventListener('change', () => {
        if (!priceTouched && legs.length === 1) {
          legs[0].action = r.action.value;
          price.value = prefillPrice(legs, (sym) => env.getState().quotes.get(sym) || draft.quote) || price.value;
        }
        // a buy's stop is above the ask, a sell's below the bid: the side changed with it
        if (!stopTouched && legs.length === 1 && typeFields(type.value).stop) {
          stop.value = prefillStopPrice(formLegs(), liveQuote) || stop.value;
        }
        typeFieldsShown();
        edited();
      });
    }
    previewBtn.addEventListener('click', () => {
      const made = orderBody(values());
      formError = made.error || null;
      flow.edited();
      draw();
      if (!made.error) flow.preview(made.body);
    });
    repreviewBtn.addEventListener('click', () => flow.repreview());
    confirmBtn.addEventListener('click', () => flow.confirm());
    checkBtn.addEventListener('click', () => flow.check());
    form.addEventListener('submit', (ev) => ev.preventDefault());
    const ticker = env.setInterval(draw, 500); // the countdown, and the order as frames arrive
    // Closed in the task that closes it: the browser's `close` event comes a task (or a
    // frame) later, and a ticket left in the page until then is still found by the next
    // key or click, and its late focus call would take the focus from where the trader put it.
    let closed = false;
    function closeTicket() {
      if (closed) return;
      closed = true;
      flow.close();
      env.clearInterval(ticker);
      if (open && open.dialog === dialog) open = null;
      dismissModal(doc, dialog, opener);
    }
    closeBtn.addEventListener('click', closeTicket);
    // Escape: the ticket closes itself now (a browser may also close a dialog with no
    // cancel event, by its close-request rules: the close event is the fallback)
    dialog.addEventListener('cancel', (ev) => { ev.preventDefault(); closeTicket(); });
    dialog.addEventListener('close', closeTicket);

    fillAccounts();
    brokerFields();
    doc.body.append(dialog);
    dialog.showModal();
    // the legs' quotes stream while the ticket is open (a leg the page does not show yet)
    if (env.subscribe) env.subscribe(legs.map((l) => l.symbol));
    draw();
    open = { dialog, close: closeTicket, draw };
    // trading off, or a link not enabled: said now; the server's refusal says it again
    env.api.trading().then((r) => {
      if (!r.ok || !r.body || !r.body.trading || !dialog.isConnected) return;
      const t = r.body.trading;
      choices = accountChoices(env.getState().accounts, t).filter((c) => !brokerOffers(c.broker, legs).error);
      fillAccounts();
      tradingNote.hidden = !!t.on;
      // the words of the refusal a preview would get (the second factor is checked on every
      // request, the preview's too: streaming/trading/access.py), the page linked
      if (!t.on) tradingNote.replaceChildren('Trading is off for you: turn it on with your second factor on the ', el('a', { href: '/trading' }, 'Trading page'), '.');
    });
    return dialog;
  }

  return {
    open: openTicket,
    /** The stream's state changed: the open ticket redraws (its order, its quote). */
    render() { if (open) open.draw(); },
    close() { if (open) open.close(); },
  };
}
