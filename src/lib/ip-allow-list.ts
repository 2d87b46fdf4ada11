/**
 * Parsing and matching of IP allow-lists (plain addresses or CIDR ranges, IPv4 and IPv6),
 * built on Node's net.BlockList. IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 rules.
 */
import { BlockList, isIP } from 'node:net'

export interface ParsedAllowList {
  list: BlockList | null
  invalid: string[]
}

export function parseAllowList(entries: readonly string[]): ParsedAllowList {
  if (entries.length === 0) return { list: null, invalid: [] }
  const list = new BlockList()
  const invalid: string[] = []
  for (const entry of entries) {
    const [addr = '', prefixText] = entry.trim().split('/')
    const family = isIP(addr)
    if (family === 0) {
      invalid.push(entry)
      continue
    }
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (prefixText === undefined) {
      list.addAddress(addr, type)
      continue
    }
    const prefix = Number(prefixText)
    if (!/^\d{1,3}$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) {
      invalid.push(entry)
      continue
    }
    list.addSubnet(addr, prefix, type)
  }
  return { list, invalid }
}

export function ipAllowed(list: BlockList | null, ip: string): boolean {
  if (!list) return true
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped?.[1]) return list.check(mapped[1], 'ipv4') || list.check(ip, 'ipv6')
  return list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4')
}
