// Package wsenvelope holds the one envelope that every ACS and TCS
// websocket frame carries, {"type":"<ShapeName>","message":{...}}. It is
// data only; wire/acs and wire/tcs name it as their Message and define the
// shapes that travel inside it.
package wsenvelope
