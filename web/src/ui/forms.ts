/**
 * Dialog forms for the management pages: `formDialog` builds a labelled form from a field list,
 * submits it, shows the API's error text (naming the field the server named) and either closes
 * or swaps in a result (a key shown once). `confirmDialog` asks before destructive actions, and
 * `secretBox` shows a one-time secret with a copy button.
 */
import { errorMessage, WirehubHttpError } from '../lib/api.js'
import { button, h, icon, modal, replace, toast, type Child } from '../lib/dom.js'

export type FieldType = 'text' | 'email' | 'password' | 'number' | 'textarea' | 'checkbox' | 'select'

export interface FieldSpec {
  name: string
  label: string
  type?: FieldType
  value?: string | number | boolean | null | undefined
  required?: boolean
  placeholder?: string
  hint?: string
  options?: Array<{ value: string; label: string }>
  autocomplete?: string
  min?: number
  max?: number
  /** Fields with the same `row` sit side by side (they wrap on phones). */
  row?: string
}

export type FormValues = Record<string, string | boolean>

export interface FormDialogOptions {
  title: string
  fields: FieldSpec[]
  submitLabel: string
  /** Content above the fields (an explanation). */
  intro?: Child
  wide?: boolean
  danger?: boolean
  testid?: string
  /** Resolves with nothing to close, or with content to show instead of the form (then a Close button). */
  onSubmit(values: FormValues): Promise<Child | void>
}

function control(f: FieldSpec): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement {
  const common = { name: f.name, required: f.required, placeholder: f.placeholder, autocomplete: f.autocomplete ?? 'off' }
  if (f.type === 'select') {
    return h('select', { name: f.name }, (f.options ?? []).map((o) => h('option', { value: o.value, selected: String(f.value ?? '') === o.value }, o.label)))
  }
  if (f.type === 'textarea') {
    const ta = h('textarea', { ...common, rows: 3 })
    ta.value = f.value === null || f.value === undefined ? '' : String(f.value)
    return ta
  }
  if (f.type === 'checkbox') return h('input', { type: 'checkbox', name: f.name, checked: f.value === true })
  return h('input', {
    ...common,
    type: f.type ?? 'text',
    value: f.value === null || f.value === undefined ? '' : String(f.value),
    min: f.min !== undefined ? String(f.min) : undefined,
    max: f.max !== undefined ? String(f.max) : undefined,
    step: f.type === 'number' ? '1' : undefined,
  })
}

/** Opens a dialog with a form; see FormDialogOptions. */
export function formDialog(opts: FormDialogOptions): () => void {
  return modal(
    opts.title,
    (close) => {
      const controls = new Map<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>()
      const err = h('div', { class: 'form-error', role: 'alert', hidden: true })
      const submit = h('button', { class: `btn ${opts.danger ? 'btn-danger' : 'btn-primary'}`, type: 'submit' }, opts.submitLabel)
      const fieldEl = (f: FieldSpec) => {
        const c = controls.get(f.name)!
        if (f.type === 'checkbox') return h('label', { class: 'check' }, c, h('span', null, f.label, f.hint ? h('span', { class: 'hint' }, f.hint) : null))
        return h('label', { class: 'field' }, h('span', null, f.label, f.required || f.type === 'select' ? null : h('em', { class: 'muted' }, ' optional')), c, f.hint ? h('span', { class: 'hint' }, f.hint) : null)
      }
      for (const f of opts.fields) controls.set(f.name, control(f))
      const body: Child[] = []
      for (let i = 0; i < opts.fields.length; i++) {
        const f = opts.fields[i]!
        if (!f.row) {
          body.push(fieldEl(f))
          continue
        }
        const group = opts.fields.filter((g) => g.row === f.row)
        if (group[0] !== f) continue
        body.push(h('div', { class: 'form-row' }, group.map(fieldEl)))
      }
      const form = h(
        'form',
        {
          class: 'form',
          'data-testid': opts.testid,
          on: {
            submit: (e) => {
              e.preventDefault()
              const values: FormValues = {}
              for (const [name, c] of controls) values[name] = c instanceof HTMLInputElement && c.type === 'checkbox' ? c.checked : c.value
              submit.disabled = true
              err.hidden = true
              opts.onSubmit(values).then(
                (result) => {
                  if (result === undefined || result === null) return close()
                  replace(form, result as Child, h('div', { class: 'modal-actions' }, button('Close', { kind: 'primary', onClick: close, testid: 'dialog-close' })))
                },
                (e2: unknown) => {
                  err.textContent = errorMessage(e2)
                  err.hidden = false
                  submit.disabled = false
                  const field = e2 instanceof WirehubHttpError ? fieldOf(e2) : undefined
                  const c = field ? controls.get(field) : undefined
                  c?.focus()
                },
              )
            },
          },
        },
        opts.intro ?? null,
        err,
        body,
        h('div', { class: 'modal-actions' }, button('Cancel', { onClick: close }), submit),
      )
      return form
    },
    { wide: opts.wide },
  )
}

/** The field a validation error names (`email: must match…` or Pterodactyl's meta.source_field). */
function fieldOf(err: WirehubHttpError): string | undefined {
  return /^([a-z_]+)[:\s]/.exec(err.message)?.[1]
}

/** Asks before a destructive action; runs it, toasts the outcome. */
export function confirmDialog(opts: { title: string; text: Child; confirmLabel: string; onConfirm(): Promise<unknown>; done?: string }): void {
  modal(opts.title, (close) => {
    const err = h('div', { class: 'form-error', role: 'alert', hidden: true })
    const ok = button(opts.confirmLabel, {
      kind: 'danger',
      testid: 'confirm',
      onClick: () => {
        ok.disabled = true
        opts.onConfirm().then(
          () => {
            close()
            if (opts.done) toast(opts.done, 'success')
          },
          (e: unknown) => {
            err.textContent = errorMessage(e)
            err.hidden = false
            ok.disabled = false
          },
        )
      },
    })
    return h('div', { class: 'form' }, h('p', null, opts.text), err, h('div', { class: 'modal-actions' }, button('Cancel', { onClick: close }), ok))
  })
}

/** A secret shown once, with a copy button. */
export function secretBox(secret: string, testid: string, what = 'key'): HTMLElement {
  return h(
    'div',
    null,
    h('p', null, `This ${what} is shown only once: copy it now.`),
    h(
      'div',
      { class: 'secret' },
      h('code', { 'data-testid': testid }, secret),
      h('button', { class: 'icon-btn', type: 'button', title: 'Copy', 'aria-label': `Copy the ${what}`, on: { click: () => void navigator.clipboard?.writeText(secret).then(() => toast('Copied', 'success')) } }, icon('copy', 16)),
    ),
  )
}
