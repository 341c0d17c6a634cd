# Writes the JSON case files of this directory from Jayway JsonPath test cases
# transcribed by hand (see README.md). Run: python3 port.py (from this directory).
import json, os
OUT = os.path.dirname(os.path.abspath(__file__))
JSON_DOCUMENT = {
  "string-property": "string-value", "int-max-property": 2147483647, "long-max-property": 9223372036854775807,
  "boolean-property": True, "null-property": None, "int-small-property": 1, "max-price": 10,
  "store": {"book": [
    {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "display-price": 8.95},
    {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "display-price": 12.99},
    {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "display-price": 8.99},
    {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "display-price": 22.99}],
   "bicycle": {"foo": "baz", "escape": "Esc\b\f\n\r\t\n\t*", "color": "red", "display-price": 19.95, "foo:bar": "fooBar", "dot.notation": "new", "dash-notation": "dashes"}},
  "foo": "bar", "@id": "ID"}
BOOKS = JSON_DOCUMENT["store"]["book"]
AUTHORS = [b["author"] for b in BOOKS]
MULTI_STORE = {"store": [{"name": "First", "book": BOOKS}, {"name": "Second", "book": [{"category": "fiction", "author": "Ernest Hemmingway", "title": "The Old Man and the Sea", "display-price": 12.99}]}]}
NUMBER_SERIES = {"empty": [], "numbers": [1,2,3,4,5,6,7,8,9,10]}
TEXT_SERIES = {"urls": ["http://api.worldbank.org/countries/all/?format=json", "http://api.worldbank.org/countries/all/?format=json"], "text": ["a","b","c","d","e","f"]}
TEXT_AND_NUMBER = {"text": ["a","b","c","d","e","f"], "numbers": [1,2,3,4,5,6,7,8,9,10]}
FILTER_JSON = {"int-key": 1, "long-key": 3000000000, "double-key": 10.1, "boolean-key": True, "null-key": None,
  "string-key": "string", "string-key-empty": "", "char-key": "c", "arr-empty": [], "int-arr": [0,1,2,3,4],
  "string-arr": ["a","b","c","d","e"], "obj": {"foo": "bar"}}

files = {}
def case(cls, test, path, inp, expected=None, error=False, unordered=False):
    cs = files.setdefault(cls, [])
    name = "%s-%d" % (test, sum(1 for c in cs if c["test"] == test) + 1)
    c = {"name": name, "test": test, "path": path, "input": inp}
    if error:
        c["expect_error"] = True
    else:
        c["expected"] = expected
    if unordered:
        c["unordered"] = True
    cs.append(c)

# ReturnTypeTest
R = "ReturnTypeTest"
case(R, "assert_strings_can_be_read", "$.string-property", JSON_DOCUMENT, "string-value")
case(R, "assert_ints_can_be_read", "$.int-max-property", JSON_DOCUMENT, 2147483647)
case(R, "assert_longs_can_be_read", "$.long-max-property", JSON_DOCUMENT, 9223372036854775807)
case(R, "assert_boolean_values_can_be_read", "$.boolean-property", JSON_DOCUMENT, True)
case(R, "assert_null_values_can_be_read", "$.null-property", JSON_DOCUMENT, None)
case(R, "assert_arrays_can_be_read", "$.store.book", JSON_DOCUMENT, BOOKS)
case(R, "assert_maps_can_be_read", "$.store.book[0]", JSON_DOCUMENT, BOOKS[0])

# InlineFilterTest
I = "InlineFilterTest"
case(I, "root_context_can_be_referred_in_predicate", "store.book[?(@.display-price <= $.max-price)].display-price", JSON_DOCUMENT, [8.95, 8.99])
case(I, "multiple_context_object_can_be_refered", "store.book[ ?(@.category == @.category) ]", JSON_DOCUMENT, BOOKS)
case(I, "multiple_context_object_can_be_refered", "store.book[ ?(@.category == @['category']) ]", JSON_DOCUMENT, BOOKS)
case(I, "multiple_context_object_can_be_refered", "store.book[ ?(@ == @) ]", JSON_DOCUMENT, BOOKS)
case(I, "multiple_context_object_can_be_refered", "store.book[ ?(@.category != @.category) ]", JSON_DOCUMENT, [])
case(I, "multiple_context_object_can_be_refered", "store.book[ ?(@.category != @) ]", JSON_DOCUMENT, BOOKS)
case(I, "simple_inline_or_statement_evaluates", "store.book[ ?(@.author == 'Nigel Rees' || @.author == 'Evelyn Waugh') ].author", JSON_DOCUMENT, ["Nigel Rees", "Evelyn Waugh"])
case(I, "simple_inline_or_statement_evaluates", "store.book[ ?((@.author == 'Nigel Rees' || @.author == 'Evelyn Waugh') && @.display-price < 15) ].author", JSON_DOCUMENT, ["Nigel Rees", "Evelyn Waugh"])
case(I, "simple_inline_or_statement_evaluates", "store.book[ ?((@.author == 'Nigel Rees' || @.author == 'Evelyn Waugh') && @.category == 'reference') ].author", JSON_DOCUMENT, ["Nigel Rees"])
case(I, "simple_inline_or_statement_evaluates", "store.book[ ?((@.author == 'Nigel Rees') || (@.author == 'Evelyn Waugh' && @.category != 'fiction')) ].author", JSON_DOCUMENT, ["Nigel Rees"])
case(I, "no_path_ref_in_filter_hit_all", "$.store.book[?('a' == 'a')].author", JSON_DOCUMENT, AUTHORS)
case(I, "no_path_ref_in_filter_hit_none", "$.store.book[?('a' == 'b')].author", JSON_DOCUMENT, [])
case(I, "path_can_be_on_either_side_of_operator", "$.store.book[?(@.category == 'reference')].author", JSON_DOCUMENT, ["Nigel Rees"])
case(I, "path_can_be_on_either_side_of_operator", "$.store.book[?('reference' == @.category)].author", JSON_DOCUMENT, ["Nigel Rees"])
case(I, "path_can_be_on_both_side_of_operator", "$.store.book[?(@.category == @.category)].author", JSON_DOCUMENT, AUTHORS)
case(I, "patterns_can_be_evaluated", "$.store.book[?(@.category =~ /reference/)].author", JSON_DOCUMENT, ["Nigel Rees"])
case(I, "patterns_can_be_evaluated", "$.store.book[?(/reference/ =~ @.category)].author", JSON_DOCUMENT, ["Nigel Rees"])
case(I, "patterns_can_be_evaluated_with_ignore_case", "$.store.book[?(@.category =~ /REFERENCE/)].author", JSON_DOCUMENT, [])
case(I, "patterns_can_be_evaluated_with_ignore_case", "$.store.book[?(@.category =~ /REFERENCE/i)].author", JSON_DOCUMENT, ["Nigel Rees"])
case(I, "patterns_match_against_lists", "$.store[?(@.book[*].category =~ /Reference/i)].name", MULTI_STORE, ["First"])
case(I, "negate_exists_check", "$.store.book[?(@.isbn)].author", JSON_DOCUMENT, ["Herman Melville", "J. R. R. Tolkien"])
case(I, "negate_exists_check", "$.store.book[?(!@.isbn)].author", JSON_DOCUMENT, ["Nigel Rees", "Evelyn Waugh"])
INTS = [0, 1, None, 2, 3]
case(I, "negate_exists_check_primitive", "$[?(@)]", INTS, INTS)
case(I, "negate_exists_check_primitive", "$[?(@ != null)]", INTS, [0, 1, 2, 3])
case(I, "negate_exists_check_primitive", "$[?(!@)]", INTS, [])
def one(inp, path, test):
    case(I, test, path, inp, inp[:1])
def none(inp, path, test):
    case(I, test, path, inp, [])
t = "equality_check_does_not_break_evaluation"
one([{"value": "5"}], "$[?(@.value=='5')]", t)
one([{"value": 5}], "$[?(@.value==5)]", t)
one([{"value": "5.1.26"}], "$[?(@.value=='5.1.26')]", t)
none([{"value": "5"}], "$[?(@.value=='5.1.26')]", t)
none([{"value": 5}], "$[?(@.value=='5.1.26')]", t)
none([{"value": 5.1}], "$[?(@.value=='5.1.26')]", t)
none([{"value": "5.1.26"}], "$[?(@.value=='5')]", t)
none([{"value": "5.1.26"}], "$[?(@.value==5)]", t)
none([{"value": "5.1.26"}], "$[?(@.value==5.1)]", t)
t = "lt_check_does_not_break_evaluation"
one([{"value": "5"}], "$[?(@.value<'7')]", t)
none([{"value": "7"}], "$[?(@.value<'5')]", t)
one([{"value": 5}], "$[?(@.value<7)]", t)
none([{"value": 7}], "$[?(@.value<5)]", t)
one([{"value": 5}], "$[?(@.value<7.1)]", t)
none([{"value": 7}], "$[?(@.value<5.1)]", t)
one([{"value": 5.1}], "$[?(@.value<7)]", t)
none([{"value": 7.1}], "$[?(@.value<5)]", t)
# json-smart reads the document ["\'foo"] leniently as ["'foo"].
one(["'foo"], "$[?(@ == '\\'foo')]", "escaped_literals")
one(["\\'foo"], "$[?(@ == \"\\\\'foo\")]", "escaped_literals2")
one(["x"], "$[?(@ =~ /\\/|x/)]", "escape_pattern")
one(["x"], "$[?(@ == \"abc\" || @ =~ /\\/|x/)]", "escape_pattern_after_literal")
one(["x"], "$[?(@ =~ /\\/|x/ || @ == \"abc\")]", "escape_pattern_before_literal")
one([{"s": "fo", "expected_size": "m"}, {"s": "lo", "expected_size": 2}][::-1], "$[?(@.s size @.expected_size)]", "filter_evaluation_does_not_break_path_evaluation")

# DeepScanTest
D = "DeepScanTest"
case(D, "when_deep_scanning_non_array_subscription_is_ignored", "$..[2][3]", {"x": [0,1,[0,1,2,3,None],None]}, [3], unordered=True)
case(D, "when_deep_scanning_non_array_subscription_is_ignored", "$..[2][3]", {"x": [0,1,[0,1,2,3,None],None], "y": [0,1,2]}, [3], unordered=True)
case(D, "when_deep_scanning_non_array_subscription_is_ignored", "$..[2][3]", {"x": [0,1,[0,1,2],None], "y": [0,1,2]}, [])
case(D, "when_deep_scanning_null_subscription_is_ignored", "$..[2][3]", {"x": [None,None,[0,1,2,3,None],None]}, [3], unordered=True)
case(D, "when_deep_scanning_null_subscription_is_ignored", "$..[2][3]", {"x": [None,None,[0,1,2,3,None],None], "y": [0,1,None]}, [3], unordered=True)
case(D, "when_deep_scanning_array_index_oob_is_ignored", "$..[4]", {"x": [0,1,[0,1,2,3,10],None]}, [10], unordered=True)
case(D, "when_deep_scanning_array_index_oob_is_ignored", "$..[2][3]", {"x": [None,None,[0,1,2,3]], "y": [None,None,[0,1]]}, [3], unordered=True)
t = "definite_upstream_illegal_array_access_throws"
case(D, t, "$.foo.bar.[5]", {"foo": {"bar": None}}, error=True)
case(D, t, "$.foo.bar.[5, 10]", {"foo": {"bar": None}}, error=True)
case(D, t, "$.foo.bar.[5]", {"foo": {"bar": 4}}, error=True)
case(D, t, "$.foo.bar.[5, 10]", {"foo": {"bar": 4}}, error=True)
case(D, t, "$.foo.bar.[5]", {"foo": {"bar": []}}, error=True)
FB = {"x": {"foo": {"bar": 4}}, "y": {"foo": 1}}
case(D, "when_deep_scanning_illegal_property_access_is_ignored", "$..foo", FB, [{"bar": 4}, 1], unordered=True)
case(D, "when_deep_scanning_illegal_property_access_is_ignored", "$..foo.bar", FB, [4], unordered=True)
case(D, "when_deep_scanning_illegal_property_access_is_ignored", "$..[*].foo.bar", FB, [4], unordered=True)
case(D, "when_deep_scanning_illegal_property_access_is_ignored", "$..[*].foo.bar", {"x": {"foo": {"baz": 4}}, "y": {"foo": 1}}, [])
case(D, "when_deep_scanning_illegal_predicate_is_ignored", "$..foo[?(@.bar)].bar", FB, [4], unordered=True)
case(D, "when_deep_scanning_illegal_predicate_is_ignored", "$..[*]foo[?(@.bar)].bar", FB, [4], unordered=True)
case(D, "when_deep_scanning_require_properties_is_ignored_on_scan_target", "$..x", [{"x": {"foo": {"x": 4}, "x": None}, "y": {"x": 1}}, {"x": []}], None)
files[D][-1]["expected_size"] = 5
del files[D][-1]["expected"]
case(D, "when_deep_scanning_leaf_multi_props_work", "$..['a', 'c']", [{"a": "a-val", "b": "b-val", "c": "c-val"}, [1, 5], {"a": "a-val"}], [{"a": "a-val", "c": "c-val"}])
case(D, "require_single_property_ok", "$..a", [{"a": "a0"}, {"a": "a1"}], ["a0", "a1"])
case(D, "require_single_property", "$..a", [{"a": "a0"}, {"b": "b2"}], ["a0"])
AB = {"a": "aa", "b": "bb"}
case(D, "require_multi_property_all_match", "$..['a', 'b']", [AB, AB], [AB, AB])
case(D, "require_multi_property_some_match", "$..['a', 'b']", [AB, {"a": "aa", "d": "dd"}], [AB])
A = {"a": "aa"}; Bm = {"b": "bb"}
case(D, "scan_for_single_property", "$..['a']", [A, Bm, {"b": Bm, "ab": {"a": A, "b": Bm}}], ["aa", A, "aa"])
X = {"x": "xx"}
case(D, "scan_for_property_path", "$..['a'].x", [A, X, {"a": X}, {"z": {"a": X}}], ["xx", "xx"])
brown = {"val": "brown"}; white = {"val": "white"}
case(D, "scans_can_be_filtered", "$..[?(@.mammal == true)].color", [{"mammal": True, "color": brown}, {"mammal": True, "color": white}, {"mammal": False}], [brown, white])
case(D, "deepScanPath", "$..array[0]", {"index": "index", "data": {"array": [{"object1": {"name": "robert"}}]}}, [{"object1": {"name": "robert"}}])

# MultiPropTest
M = "MultiPropTest"
ABC = {"a": "a-val", "b": "b-val", "c": "c-val"}
case(M, "multi_prop_can_be_read_from_root", "$['a', 'b']", ABC, {"a": "a-val", "b": "b-val"})
case(M, "multi_prop_can_be_read_from_root", "$['a', 'd']", ABC, {"a": "a-val"})
V = {"a": {"v": 5}, "b": {"v": 4}, "c": {"v": 1}}
case(M, "multi_props_can_be_non_leafs", "$['a', 'c'].v", V, [5, 1], unordered=True)
case(M, "nonexistent_non_leaf_multi_props_ignored", "$['d', 'a', 'c', 'm'].v", V, [5, 1], unordered=True)
case(M, "multi_props_with_post_filter", "$['a', 'c'][?(@.flag)].v", {"a": {"v": 5}, "b": {"v": 4}, "c": {"v": 1, "flag": True}}, [1])
DS = {"v": [[{}, 1, {"a": {"v": 5}, "b": {"v": 4}, "c": {"v": 1, "flag": True}}]]}
case(M, "deep_scan_does_not_affect_non_leaf_multi_props", "$..['a', 'c'].v", DS, [5, 1], unordered=True)
case(M, "deep_scan_does_not_affect_non_leaf_multi_props", "$..['a', 'c'][?(@.flag)].v", DS, [1])
MID = {"x": [None, {"a": {"v": 5}, "b": {"v": 4}, "c": {"v": 1}}]}
for p in ["$.x[1]['a', 'c'].v", "$.x[*]['a', 'c'].v", "$[*][*]['a', 'c'].v", "$.x[1]['d', 'a', 'c', 'm'].v", "$.x[*]['d', 'a', 'c', 'm'].v"]:
    case(M, "multi_props_can_be_in_the_middle", p, MID, [5, 1], unordered=True)

# Function tests (internal/function)
F = "FunctionTest"
case(F, "NumericPathFunctionTest.testAverageOfDoubles", "$.numbers.avg()", NUMBER_SERIES, 5.5)
case(F, "NumericPathFunctionTest.testAverageOfEmptyListNegative", "$.empty.avg()", NUMBER_SERIES, error=True)
case(F, "NumericPathFunctionTest.testSumOfDouble", "$.numbers.sum()", NUMBER_SERIES, 55.0)
case(F, "NumericPathFunctionTest.testSumOfEmptyListNegative", "$.empty.sum()", NUMBER_SERIES, error=True)
case(F, "NumericPathFunctionTest.testMaxOfDouble", "$.numbers.max()", NUMBER_SERIES, 10.0)
case(F, "NumericPathFunctionTest.testMaxOfEmptyListNegative", "$.empty.max()", NUMBER_SERIES, error=True)
case(F, "NumericPathFunctionTest.testMinOfDouble", "$.numbers.min()", NUMBER_SERIES, 1.0)
case(F, "NumericPathFunctionTest.testMinOfEmptyListNegative", "$.empty.min()", NUMBER_SERIES, error=True)
case(F, "NumericPathFunctionTest.testStdDevOfDouble", "$.numbers.stddev()", NUMBER_SERIES, 2.8722813232690143)
case(F, "NumericPathFunctionTest.testStddevOfEmptyListNegative", "$.empty.stddev()", NUMBER_SERIES, error=True)
case(F, "KeySetFunctionTest.testKeySet", "$.data.keys()", {"data": {"a": 1, "b": 2}}, ["a", "b"], unordered=True)
case(F, "SequentialPathFunctionTest.testFirstOfNumbers", "$.numbers.first()", NUMBER_SERIES, 1)
case(F, "SequentialPathFunctionTest.testLastOfNumbers", "$.numbers.last()", NUMBER_SERIES, 10)
case(F, "SequentialPathFunctionTest.testIndexOfNumbers", "$.numbers.index(0)", NUMBER_SERIES, 1)
case(F, "SequentialPathFunctionTest.testIndexOfNumbers", "$.numbers.index(-1)", NUMBER_SERIES, 10)
case(F, "SequentialPathFunctionTest.testIndexOfNumbers", "$.numbers.index(1)", NUMBER_SERIES, 2)
case(F, "SequentialPathFunctionTest.testFirstOfText", "$.text.first()", TEXT_SERIES, "a")
case(F, "SequentialPathFunctionTest.testLastOfText", "$.text.last()", TEXT_SERIES, "f")
case(F, "SequentialPathFunctionTest.testIndexOfText", "$.text.index(0)", TEXT_SERIES, "a")
case(F, "SequentialPathFunctionTest.testIndexOfText", "$.text.index(-1)", TEXT_SERIES, "f")
case(F, "NestedFunctionTest.testParameterAverageFunctionCall", "$.avg($.numbers.min(), $.numbers.max())", NUMBER_SERIES, 5.5)
case(F, "NestedFunctionTest.testArrayAverageFunctionCall", "$.numbers.avg()", NUMBER_SERIES, 5.5)
case(F, "NestedFunctionTest.testArrayAverageFunctionCallWithParameters", "$.numbers.sum($.numbers.min(), $.numbers.max())", NUMBER_SERIES, 66.0)
case(F, "NestedFunctionTest.testJsonInnerArgumentArray", "$.sum(5, 3, $.numbers.max(), 2)", NUMBER_SERIES, 20.0)
case(F, "NestedFunctionTest.testSimpleLiteralArgument", "$.sum(5)", NUMBER_SERIES, 5.0)
case(F, "NestedFunctionTest.testStringConcat", "$.text.concat()", TEXT_SERIES, "abcdef")
case(F, "NestedFunctionTest.testStringAndNumberConcat", "$.concat($.text[0], $.numbers[0])", TEXT_AND_NUMBER, "a1")
case(F, "NestedFunctionTest.testStringConcatWithJSONParameter", "$.text.concat(\"-\", \"ghijk\")", TEXT_SERIES, "abcdef-ghijk")
case(F, "NestedFunctionTest.testAppendNumber", "$.numbers.append(11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 0).avg()", NUMBER_SERIES, 10.0)
case(F, "NestedFunctionTest.testAppendString", "$.numbers.append(\"0\", \"11\").sum()", NUMBER_SERIES, 55.0)
case(F, "NestedFunctionTest.testErrorAppendCurly", "$.numbers.append(0, 1, 2}).avg()", NUMBER_SERIES, error=True)
case(F, "NestedFunctionTest.testErrorAppendSquare", "$.numbers.append(0, 1, 2]).avg()", NUMBER_SERIES, error=True)
case(F, "NestedFunctionTest.testErrorUnclosed", "$.numbers.append(0, 1, 2", NUMBER_SERIES, error=True)
case(F, "DeepScanTest.scan_with_a_function_filter", "$..*[?(@.length() > 5)]", JSON_DOCUMENT, None)
files[F][-1]["expected_size"] = 1
del files[F][-1]["expected"]
case(F, "length", "$.store.book.length()", JSON_DOCUMENT, 4)

# FilterTest: each Criteria check written as the inline filter Jayway compiles it to,
# applied to [json]: true gives [json], false gives [].
T = "FilterTest"
def crit(test, cond, truth):
    case(T, test, "$[?(%s)]" % cond, [FILTER_JSON], [FILTER_JSON] if truth else [])
def k(key):
    return "@['%s']" % key
for key, val, op, truth in [
    ("int-key", "1", "==", True), ("int-key", "666", "==", False), ("int-key", "'1'", "==", True), ("int-key", "'666'", "==", False),
    ("long-key", "3000000000", "==", True), ("long-key", "666", "==", False),
    ("double-key", "10.1", "==", True), ("double-key", "10.10", "==", True), ("double-key", "10.11", "==", False),
    ("string-key", "'string'", "==", True), ("string-key", "'666'", "==", False),
    ("boolean-key", "true", "==", True), ("boolean-key", "false", "==", False),
    ("null-key", "null", "==", True), ("null-key", "'666'", "==", False), ("string-key", "null", "==", False),
    ("arr-empty", "[]", "==", True), ("int-arr", "[0,1,2,3,4]", "==", True), ("int-arr", "[0,1,2,3]", "==", False), ("int-arr", "[0,1,2,3,4,5]", "==", False),
    ("int-key", "1", "!=", False), ("int-key", "666", "!=", True), ("long-key", "3000000000", "!=", False), ("long-key", "666", "!=", True),
    ("double-key", "10.1", "!=", False), ("double-key", "10.11", "!=", True), ("string-key", "'string'", "!=", False), ("string-key", "'666'", "!=", True),
    ("boolean-key", "true", "!=", False), ("boolean-key", "false", "!=", True), ("null-key", "null", "!=", False), ("null-key", "'666'", "!=", True), ("string-key", "null", "!=", True),
    ("int-key", "10", "<", True), ("int-key", "0", "<", False), ("long-key", "4000000000", "<", True), ("long-key", "666", "<", False),
    ("double-key", "100.1", "<", True), ("double-key", "1.1", "<", False), ("char-key", "'x'", "<", True), ("char-key", "'a'", "<", False),
    ("int-key", "10", "<=", True), ("int-key", "1", "<=", True), ("int-key", "0", "<=", False), ("long-key", "3000000000", "<=", True), ("double-key", "10.1", "<=", True), ("double-key", "1.1", "<=", False),
    ("int-key", "10", ">", False), ("int-key", "0", ">", True), ("long-key", "4000000000", ">", False), ("long-key", "666", ">", True),
    ("double-key", "100.1", ">", False), ("double-key", "1.1", ">", True), ("char-key", "'x'", ">", False), ("char-key", "'a'", ">", True),
    ("int-key", "10", ">=", False), ("int-key", "1", ">=", True), ("int-key", "0", ">=", True), ("long-key", "3000000000", ">=", True), ("double-key", "10.1", ">=", True), ("double-key", "100.1", ">=", False),
    ("string-key", "/^string$/", "=~", True), ("string-key", "/^tring$/", "=~", False), ("null-key", "/^string$/", "=~", False), ("int-key", "/^string$/", "=~", False),
    ("string-arr", "/^d$/", "=~", True), ("string-arr", "/^q$/", "=~", False), ("obj", "/^foo$/", "=~", False),
    ("string-key", "['a', null, 'string']", "in", True), ("string-key", "['a', null]", "in", False), ("null-key", "['a', null]", "in", True), ("null-key", "['a', 'b']", "in", False), ("string-arr", "['a']", "in", False),
    ("string-key", "['a', null, 'string']", "nin", False), ("string-key", "['a', null]", "nin", True), ("null-key", "['a', null]", "nin", False), ("null-key", "['a', 'b']", "nin", True), ("string-arr", "['a']", "nin", True),
    ("int-arr", "[0,1]", "contains", None), 
    ("string-arr", "5", "size", True), ("string-arr", "7", "size", False), ("string-key", "6", "size", True), ("string-key", "7", "size", False), ("int-key", "6", "size", False), ("null-key", "6", "size", False),
    ("string-arr", "['a','b','c','d','e','f','g']", "subsetof", True), ("string-arr", "['e','d','b','c','a']", "subsetof", True), ("string-arr", "['a','b','c','d']", "subsetof", False),
    ("string-arr", "['a','z']", "anyof", True), ("string-arr", "['z','b','a']", "anyof", True), ("string-arr", "['x','y','z']", "anyof", False),
    ("string-arr", "['a','z']", "noneof", False), ("string-arr", "['z','b','a']", "noneof", False), ("string-arr", "['x','y','z']", "noneof", True),
    ("string-key", "false", "empty", True), ("string-key-empty", "false", "empty", False), ("int-arr", "false", "empty", True), ("arr-empty", "false", "empty", False), ("null-key", "false", "empty", False),
    ("string-key", "true", "empty", False), ("string-key-empty", "true", "empty", True), ("arr-empty", "true", "empty", True),
    ]:
    if truth is None:
        continue
    crit("%s_%s" % (op.replace("=", "eq").replace("<", "lt").replace(">", "gt").replace("!", "n").replace("~", "re"), key), "%s %s %s" % (k(key), op, val), truth)
crit("all_int", "@['int-arr'] contains 0", True)
crit("exists", "@['string-key']", True)
crit("exists", "!@['missing-key']", True)
crit("exists", "@['missing-key']", False)

# PathCompilerTest: compile errors, and paths Jayway compiles.
P = "PathCompilerTest"
for test, path in [("a_square_bracket_may_not_follow_a_period", "$.["), ("a_root_path_must_be_followed_by_period_or_bracket", "$X"),
                   ("a_path_may_not_end_with_period", "$."), ("a_path_may_not_end_with_period_2", "$.prop."),
                   ("a_path_may_not_end_with_scan", "$.."), ("a_path_may_not_end_with_scan_2", "$.prop.."),
                   ("a_property_may_not_contain_blanks", "$.foo bar"), ("array_indexes_must_be_separated_by_commas", "$[0, 1, 2 4]"),
                   ("trailing_comma_after_list_is_not_accepted", "$['1','2',]"), ("accept_only_a_single_comma_between_indexes", "$['1', ,'3']"),
                   ("property_must_be_separated_by_commas", "$['aaa'}'bbb']")]:
    case(P, test, path, {}, error=True)
PROPS = {"prop": 1, "1prop": 2, "@prop": 3, "prop0": "p0", "prop1": "p1", "abc": 4, "aaa": {"bbb": {"ccc": 5}}}
for test, path, exp in [("a_root_path_can_be_compiled", "$", PROPS),
    ("a_property_token_can_be_compiled", "$.prop", 1), ("a_property_token_can_be_compiled", "$.1prop", 2), ("a_property_token_can_be_compiled", "$.@prop", 3),
    ("a_bracket_notation_property_token_can_be_compiled", "$['prop']", 1), ("a_bracket_notation_property_token_can_be_compiled", "$['1prop']", 2),
    ("a_bracket_notation_property_token_can_be_compiled", "$['@prop']", 3), ("a_bracket_notation_property_token_can_be_compiled", "$[  '@prop'  ]", 3),
    ("a_bracket_notation_property_token_can_be_compiled", "$[\"prop\"]", 1),
    ("a_multi_property_token_can_be_compiled", "$['prop0', 'prop1']", {"prop0": "p0", "prop1": "p1"}),
    ("a_multi_property_token_can_be_compiled", "$[  'prop0'  , 'prop1'  ]", {"prop0": "p0", "prop1": "p1"}),
    ("a_property_chain_can_be_compiled", "$.abc", 4), ("a_property_chain_can_be_compiled", "$.aaa.bbb", {"ccc": 5}), ("a_property_chain_can_be_compiled", "$.aaa.bbb.ccc", 5)]:
    case(P, test, path, PROPS, exp)
ARR = [10, 20, 30, 40]
for test, path, exp in [("a_wildcard_can_be_compiled", "$.*", ARR), ("a_wildcard_can_be_compiled", "$[*]", ARR), ("a_wildcard_can_be_compiled", "$[ * ]", ARR),
    ("an_array_index_path_can_be_compiled", "$[1]", 20), ("an_array_index_path_can_be_compiled", "$[1,2,3]", [20, 30, 40]), ("an_array_index_path_can_be_compiled", "$[ 1 , 2 , 3 ]", [20, 30, 40]),
    ("an_array_slice_path_can_be_compiled", "$[-1:]", [40]), ("an_array_slice_path_can_be_compiled", "$[1:2]", [20]), ("an_array_slice_path_can_be_compiled", "$[:2]", [10, 20]),
    ("digibee_root_index", "$.[0]", 10)]:
    case(P, test, path, ARR, exp)
case(P, "a_wildcard_can_follow_a_property", "$.prop[*]", {"prop": [1, 2]}, [1, 2])
case(P, "a_wildcard_can_follow_a_property", "$['prop'][*]", {"prop": [1, 2]}, [1, 2])
case(P, "an_inline_criteria_can_be_parsed", "$[?(@.foo == 'bar')]", [{"foo": "bar"}, {"foo": "baz"}], [{"foo": "bar"}])
case(P, "an_inline_criteria_can_be_parsed", "$[?(@.foo == \"bar\")]", [{"foo": "bar"}, {"foo": "baz"}], [{"foo": "bar"}])
case(P, "a_scan_token_can_be_parsed", "$..['prop']..[*]", {"prop": {"x": [1]}}, [[1], 1], unordered=True)
LOGS = lambda m: {"logs": [dict(m, id=2)]}
case(P, "issue_predicate_can_have_escaped_backslash_in_prop", "$.logs[?(@.message == 'it\\\\')].message", LOGS({"message": "it\\"}), ["it\\"])
case(P, "issue_predicate_can_have_bracket_in_regex", "$.logs[?(@.message =~ /\\(it/)].message", LOGS({"message": "(it"}), ["(it"])
case(P, "issue_predicate_can_have_and_in_regex", "$.logs[?(@.message =~ /&&|it/)].message", LOGS({"message": "it"}), ["it"])
case(P, "issue_predicate_can_have_and_in_prop", "$.logs[?(@.message == '&& it')].message", LOGS({"message": "&& it"}), ["&& it"])
case(P, "issue_predicate_brackets_must_change_priorities", "$.logs[?(@.message && (@.id == 1 || @.id == 2))].id", {"logs": [{"id": 2}]}, [])
case(P, "issue_predicate_brackets_must_change_priorities", "$.logs[?((@.id == 2 || @.id == 1) && @.message)].id", {"logs": [{"id": 2}]}, [])
case(P, "issue_predicate_or_has_lower_priority_than_and", "$.logs[?(@.x && @.y || @.id)]", {"logs": [{"id": 2}]}, [{"id": 2}])
case(P, "issue_predicate_can_have_double_quotes", "$.logs[?(@.message == '\"it\"')].message", {"logs": [{"message": "\"it\""}]}, ["\"it\""])
case(P, "issue_predicate_can_have_single_quotes", "$.logs[?(@.message == \"'it'\")].message", {"logs": [{"message": "'it'"}]}, ["'it'"])
case(P, "issue_predicate_can_have_single_quotes_escaped", "$.logs[?(@.message == '\\'it\\'')].message", {"logs": [{"message": "'it'"}]}, ["'it'"])
case(P, "issue_predicate_can_have_square_bracket_in_prop", "$.logs[?(@.message == '] it')].message", LOGS({"message": "] it"}), ["] it"])
# Goessner's book store examples, as in Jayway's README.
GOESSNER = {"store": {"book": [
  {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
  {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
  {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99},
  {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99}],
  "bicycle": {"color": "red", "price": 19.95}}, "expensive": 10}
GB = GOESSNER["store"]["book"]
for path, exp, unordered in [
    ("$.store.book[*].author", [b["author"] for b in GB], False), ("$..author", [b["author"] for b in GB], False),
    ("$.store.*", [GB, GOESSNER["store"]["bicycle"]], False), ("$.store..price", [8.95, 12.99, 8.99, 22.99, 19.95], True),
    ("$..book[2]", [GB[2]], False), ("$..book[-2]", [GB[2]], False), ("$..book[0,1]", GB[:2], False), ("$..book[:2]", GB[:2], False),
    ("$..book[1:2]", GB[1:2], False), ("$..book[-2:]", GB[2:], False), ("$..book[2:]", GB[2:], False),
    ("$..book[?(@.isbn)]", GB[2:], False), ("$.store.book[?(@.price < 10)]", [GB[0], GB[2]], False),
    ("$..book[?(@.price <= $['expensive'])]", [GB[0], GB[2]], False), ("$..book[?(@.author =~ /.*REES/i)]", [GB[0]], False),
("$..book[?(@.price < 10)]", [GB[0], GB[2]], False),
    ("$..book[?(@.category in ['reference'])].title", ["Sayings of the Century"], False),
    ("$..book[?(@.category nin ['fiction'])].title", ["Sayings of the Century"], False),
    ("$..book[?(@.title size 9)].title", ["Moby Dick"], False),
    ("$..book[?(@.isbn empty false)].title", ["Moby Dick", "The Lord of the Rings"], False),
    ("$.store.bicycle.keys()", ["color", "price"], True)]:
    case("Readme", "readme", path, GOESSNER, exp, unordered=unordered)

count = 0
for cls, cs in files.items():
    with open(os.path.join(OUT, cls + ".json"), "w") as f:
        json.dump({"source": cls, "cases": cs}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    count += len(cs)
print(count)
