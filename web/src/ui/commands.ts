/**
 * A device's commands panel: send a method with JSON parameters and a timeout, and follow each
 * command through its states (QUEUED → SENT → DELIVERED → SUCCEEDED / FAILED / EXPIRED /
 * CANCELLED) live on the channels socket, with its result or error; cancel one still pending.
 * The list is read again when the socket reconnects, so no state change is missed.
 */
import type { CommandState, DeviceCommand } from '../../../packages/client/src/types.js'
import { FINAL_COMMAND_STATES } from '../../../packages/client/src/commands.js'
import { errorMessage } from '../lib/api.js'
import { badge, button, emptyState, h, replace, spinner, tableWrap, toast } from '../lib/dom.js'
import { time } from '../lib/format.js'
import type { Session } from '../lib/session.js'

const STATE_COLOUR: Record<CommandState, string> = {
  QUEUED: 'gray',
  SENT: 'blue',
  DELIVERED: 'blue',
  SUCCEEDED: 'green',
  FAILED: 'red',
  EXPIRED: 'amber',
  CANCELLED: 'gray',
}

function shown(v: unknown): string {
  if (v === null || v === undefined) return ''
  return typeof v === 'string' ? v : JSON.stringify(v)
}

export function commandsCard(session: Session, deviceId: number): { el: HTMLElement; dispose(): void } {
  const commands = new Map<number, DeviceCommand>()
  const body = h('div', { class: 'card-body flush' }, spinner('Loading commands…'))
  const method = h('input', { name: 'method', required: true, placeholder: 'reboot', maxlength: '64', 'aria-label': 'Method' })
  const params = h('input', { name: 'params', placeholder: '{"on": true}', 'aria-label': 'Parameters (JSON)', class: 'mono' })
  const timeout = h('input', { name: 'timeout', type: 'number', min: '1', value: '60', 'aria-label': 'Timeout in seconds', style: 'width:7em' })
  const err = h('div', { class: 'form-error', role: 'alert', hidden: true })
  const send = h('button', { class: 'btn btn-primary', type: 'submit' }, 'Send')
  const form = h(
    'form',
    {
      class: 'form',
      'data-testid': 'command-form',
      on: {
        submit: (e) => {
          e.preventDefault()
          err.hidden = true
          let p: unknown
          try {
            p = params.value.trim() ? JSON.parse(params.value) : undefined
          } catch {
            err.textContent = 'params: not valid JSON'
            err.hidden = false
            return
          }
          send.disabled = true
          session.commands.send(deviceId, method.value.trim(), p, { timeout: Number(timeout.value || 60) }).then(
            (c) => {
              send.disabled = false
              upsert(c)
            },
            (e2: unknown) => {
              err.textContent = errorMessage(e2)
              err.hidden = false
              send.disabled = false
            },
          )
        },
      },
    },
    err,
    h(
      'div',
      { class: 'form-row' },
      h('label', { class: 'field' }, h('span', null, 'Method'), method),
      h('label', { class: 'field grow' }, h('span', null, 'Parameters ', h('em', { class: 'muted' }, 'JSON, optional')), params),
      h('label', { class: 'field' }, h('span', null, 'Timeout (s)'), timeout),
    ),
    h('div', null, send),
  )
  const el = h('div', { class: 'card', 'data-testid': 'device-commands' }, h('div', { class: 'card-head' }, h('h2', null, 'Commands')), h('div', { class: 'card-body' }, form), body)

  const draw = () => {
    const rows = [...commands.values()].sort((a, b) => b.id - a.id).slice(0, 50)
    if (!rows.length) return replace(body, emptyState('send', 'No commands yet', 'Commands reach the device over MQTT or its HTTP poll; their states show here live.'))
    replace(
      body,
      tableWrap(
        h(
          'table',
          { class: 'table', 'data-testid': 'commands-table' },
          h('thead', null, h('tr', null, h('th', null, 'Command'), h('th', null, 'State'), h('th', null, 'Result'), h('th', null, 'Sent'), h('th', { class: 'right' }, h('span', { class: 'sr-only' }, 'Actions')))),
          h(
            'tbody',
            null,
            rows.map((c) =>
              h(
                'tr',
                { dataset: { command: String(c.id), state: c.state } },
                h('td', { class: 'mono' }, `#${c.id} ${c.method}`, c.params !== null && c.params !== undefined ? h('div', { class: 'muted small ellipsis' }, shown(c.params)) : null),
                h('td', null, badge(c.state.toLowerCase(), STATE_COLOUR[c.state])),
                h('td', { class: 'mono small ellipsis', title: shown(c.error ?? c.result) }, shown(c.error ?? c.result) || '—'),
                h('td', { class: 'muted nowrap' }, time(c.created_at)),
                h(
                  'td',
                  { class: 'right' },
                  FINAL_COMMAND_STATES.includes(c.state)
                    ? null
                    : button('Cancel', { kind: 'ghost', onClick: () => void session.commands.cancel(deviceId, c.id).then(upsert, (e: unknown) => toast(errorMessage(e), 'error')) }),
                ),
              ),
            ),
          ),
        ),
      ),
    )
  }
  const upsert = (c: DeviceCommand) => {
    commands.set(c.id, c)
    draw()
  }
  const load = () =>
    session.commands.list(deviceId, { limit: 50 }).then(
      (list) => {
        for (const c of list) commands.set(c.id, c)
        draw()
      },
      (e: unknown) => replace(body, emptyState('send', 'Commands are unavailable', errorMessage(e))),
    )
  const offCmd = session.commands.subscribe(deviceId, (u) => upsert(u.command))
  const offState = session.channels.on('state', (st) => {
    if (st === 'ready') void load()
  })
  void load()
  return {
    el,
    dispose() {
      offCmd()
      offState()
    },
  }
}
