// Sends one message of every Segment type through @segment/analytics-node
// to footfall ingest (INGEST_URL, WRITE_KEY), tagged with RUN_ID, and exits
// non-zero if the SDK reports any delivery error. Driven by ingest/sdk_test.go.
'use strict'
const { Analytics } = require('@segment/analytics-node')

const { INGEST_URL, WRITE_KEY, RUN_ID } = process.env
const analytics = new Analytics({
  writeKey: WRITE_KEY,
  host: INGEST_URL,
  path: '/v1/batch',
  flushAt: 50,
  flushInterval: 100,
  maxRetries: 1,
  httpRequestTimeout: 10000,
})
const errors = []
analytics.on('error', (err) => errors.push(err))

const hourAgo = new Date(Date.now() - 3600 * 1000)
analytics.identify({ userId: 'sdk-user', traits: { plan: 'pro', run: RUN_ID } })
analytics.track({
  userId: 'sdk-user',
  event: 'Order Completed',
  timestamp: hourAgo,
  properties: { revenue: 19.99, currency: 'EUR', run: RUN_ID },
  context: { ip: '8.8.8.8' },
})
analytics.page({
  anonymousId: 'sdk-visitor',
  name: 'Pricing',
  properties: { url: 'https://shop.example/pricing?utm_source=sdk', run: RUN_ID },
})
analytics.screen({ userId: 'sdk-user', name: 'Home', properties: { run: RUN_ID } })
analytics.group({ userId: 'sdk-user', groupId: 'acme', traits: { run: RUN_ID } })
analytics.alias({ userId: 'sdk-user', previousId: 'sdk-visitor' })

analytics
  .closeAndFlush({ timeout: 20000 })
  .then(() => {
    if (errors.length > 0) {
      for (const e of errors) console.error('delivery error:', e && (e.reason || e.message || e))
      process.exit(1)
    }
    console.log('segment: sent 6 messages')
  })
  .catch((err) => {
    console.error(err)
    process.exit(1)
  })
