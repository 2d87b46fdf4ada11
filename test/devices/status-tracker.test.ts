/** The device status state machine as pure logic: one transition per change, sweeps, manual states. */
import t from 'tap'
import { StatusTracker } from '../../src/modules/devices/device-status.js'

t.test('offline → online on data, online → offline after silence, each once', async (t) => {
  const s = new StatusTracker(1000)
  s.load(1, 7, 'offline', null, 0)
  s.load(2, 7, 'offline', null, 0)
  t.match(s.seen(1, 100), { deviceId: 1, ownerId: 7, from: 'offline', to: 'online', reason: 'Data received' })
  t.equal(s.seen(1, 200), null, 'no second transition while online')
  t.ok(s.seen(2, 600))
  t.same(s.sweep(1100), [], 'device 1 was seen at 200')
  const off = s.sweep(1200)
  t.same(off.map((x) => [x.deviceId, x.to, x.reason, x.lastSeen]), [[1, 'offline', 'Connection lost', 200]])
  t.same(s.sweep(1300), [], 'not twice')
  t.same(s.sweep(1600).map((x) => x.deviceId), [2])
  t.ok(s.seen(1, 2000), 'back online')
})

t.test('maintenance and warning are sticky until cleared', async (t) => {
  const s = new StatusTracker(1000)
  s.load(1, 7, 'online', 0, 0)
  t.match(s.setManual(1, 'maintenance', 10), { from: 'online', to: 'maintenance' })
  t.equal(s.seen(1, 20), null, 'data does not end maintenance')
  t.same(s.sweep(5000), [], 'silence does not make it offline')
  t.equal(s.setManual(1, 'maintenance', 5000), null, 'no transition to the same state')
  t.match(s.setManual(1, 'warning', 5000), { from: 'maintenance', to: 'warning' })
  t.match(s.setManual(1, null, 5000), { from: 'warning', to: 'offline' }, 'cleared after silence: offline')
  s.seen(1, 6000)
  t.equal(s.status(1), 'online')
  s.setManual(1, 'warning', 6100)
  t.match(s.setManual(1, null, 6200), { to: 'online' }, 'cleared while live: online')
  t.equal(s.setManual(1, null, 6300), null, 'clearing a liveness state does nothing')
})
