import t from 'tap'
import { RequestSeries } from '../../src/metrics/requests.js'

t.test('requests are counted by method, route and status, and their latency falls in cumulative buckets', async (t) => {
  const series = new RequestSeries([0.01, 0.1, 1])
  series.record('GET', '/a/:id', 200, 0.005)
  series.record('GET', '/a/:id', 200, 0.1) // on a bound: in that bucket (le is inclusive)
  series.record('GET', '/a/:id', 404, 5)
  series.record('POST', '/a/:id', 201, 0.05)
  const counted = series.counter('requests_total', 'h').get().values
  t.same(counted.map((v) => [v.labels.method, v.labels.status, v.value]).sort(), [['GET', 200, 2], ['GET', 404, 1], ['POST', 201, 1]])
  const get = series.histogram('duration', 'h').get().values.filter((v) => v.labels.method === 'GET')
  const buckets = get.filter((v) => v.metricName === 'duration_bucket').map((v) => [v.labels.le, v.value])
  t.same(buckets, [[0.01, 1], [0.1, 2], [1, 2], ['+Inf', 3]])
  t.equal(get.find((v) => v.metricName === 'duration_count')?.value, 3)
  t.equal(get.find((v) => v.metricName === 'duration_sum')?.value, 5.105)
})
