package jsonpath_test

import (
	"fmt"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jsonpath"
)

func ExampleCompile() {
	p, err := jsonpath.Compile("$.store.book[?(@.price < 10)].title")
	if err != nil {
		panic(err)
	}
	doc, _ := value.DecodeString(`{"store": {"book": [
		{"title": "Sayings of the Century", "price": 8.95},
		{"title": "Sword of Honour", "price": 12.99},
		{"title": "Moby Dick", "price": 8.99}]}}`)
	titles, _ := p.Evaluate(doc)
	fmt.Println(value.MustEncodeString(titles), p.Definite())

	_, err = jsonpath.Compile("$.store.book[?(@.price < 10]")
	fmt.Println(err)
	// Output:
	// ["Sayings of the Century","Moby Dick"] false
	// invalid JSONPath "$.store.book[?(@.price < 10]" at 27: expected ) to close the filter
}
