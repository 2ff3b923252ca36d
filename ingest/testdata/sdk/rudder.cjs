// Sends one message of every Segment type through @rudderstack/rudder-sdk-node
// (which gzips its batches by default) to footfall ingest (INGEST_URL,
// WRITE_KEY), tagged with RUN_ID, and exits non-zero if the SDK reports any
// delivery error. Driven by ingest/sdk_test.go.
'use strict'
const Analytics = require('@rudderstack/rudder-sdk-node')

const { INGEST_URL, WRITE_KEY, RUN_ID } = process.env
const errors = []
const client = new Analytics(WRITE_KEY, {
  dataPlaneUrl: INGEST_URL,
  flushAt: 50,
  flushInterval: 100,
  retryCount: 0,
  logLevel: 'error',
  errorHandler: (err) => errors.push(err),
})

const hourAgo = new Date(Date.now() - 3600 * 1000)
client.identify({ userId: 'sdk-user', traits: { plan: 'pro', run: RUN_ID } })
client.track({
  userId: 'sdk-user',
  event: 'Order Completed',
  timestamp: hourAgo,
  properties: { revenue: 19.99, currency: 'EUR', run: RUN_ID },
  context: { ip: '8.8.8.8' },
})
client.page({
  anonymousId: 'sdk-visitor',
  name: 'Pricing',
  properties: { url: 'https://shop.example/pricing?utm_source=sdk', run: RUN_ID },
})
client.screen({ userId: 'sdk-user', name: 'Home', properties: { run: RUN_ID } })
client.group({ userId: 'sdk-user', groupId: 'acme', traits: { run: RUN_ID } })
client.alias({ userId: 'sdk-user', previousId: 'sdk-visitor' })

client
  .flush()
  .then(() => {
    if (errors.length > 0) {
      for (const e of errors) console.error('delivery error:', e && (e.response ? e.response.status + ' ' + JSON.stringify(e.response.data) : e.message || e))
      process.exit(1)
    }
    console.log('rudder: sent 6 messages')
    process.exit(0)
  })
  .catch((err) => {
    console.error('flush failed:', err && (err.message || err))
    process.exit(1)
  })
