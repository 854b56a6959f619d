// Package leakcheck fails a test binary whose goroutines outlive its tests:
// every goroutine has an owner that waits for it. Use it from TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
package leakcheck
