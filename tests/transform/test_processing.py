"""DataProcessing for batch transform: the JSONPath subset, filters, joins, split responses."""

from __future__ import annotations

from typing import Any

import pytest

from sagebrush.jobs.transform._jsonpath import NoMatch
from sagebrush.jobs.transform.processing import (
    InvalidDataProcessing,
    InvalidPath,
    Processing,
    ProcessingError,
    parse_path,
    split_output,
)


def processing(
    content_type: str | None = "text/csv",
    accept: str | None = "text/csv",
    split_type: str | None = "Line",
    assemble_with: str | None = "Line",
    **data_processing: Any,
) -> Processing:
    return Processing.from_request(
        data_processing or None, content_type, accept, split_type, assemble_with
    )


# --- the JSONPath subset -----------------------------------------------------------------

TEN = list(range(10))
RECORD = {
    "id": "a1",
    "features": [1, 2],
    "field1": {"child1": "x", "child2": "y", "child3": "z"},
    "rows": [{"id": 1, "v": [7, 8]}, {"id": 2, "v": [9]}],
}


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("$", TEN, TEN),
        ("$[1:]", TEN, [1, 2, 3, 4, 5, 6, 7, 8, 9]),  # the DG's "drop the ID column"
        ("$[0,-1]", TEN, [0, 9]),  # the DG's "keep the ID and the prediction"
        ("$[1:4]", TEN, [1, 2, 3, 4]),  # end inclusive: 2nd through 5th
        ("$[:5]", TEN, [0, 1, 2, 3, 4, 5]),  # 1st through 6th
        ("$[5:]", TEN, [5, 6, 7, 8, 9]),
        ("$[:]", TEN, TEN),
        ("$[-3:]", TEN, [7, 8, 9]),
        ("$[-3:-2]", TEN, [7, 8]),
        ("$[2:20]", TEN, [2, 3, 4, 5, 6, 7, 8, 9]),  # slice bounds clamp
        ("$[-20:1]", TEN, [0, 1]),
        ("$[8:2]", TEN, []),
        ("$[0:-12]", TEN, []),
        ("$[0,5:]", TEN, [0, 5, 6, 7, 8, 9]),  # the API's OutputFilter example
        ("$[1,3,5]", TEN, [1, 3, 5]),
        ("$[ 1 , -1 ]", TEN, [1, 9]),
        ("$[-1]", TEN, 9),
        ("$[*]", TEN, TEN),
        ("$.features", RECORD, [1, 2]),
        ("$.features[1]", RECORD, 2),
        ("$['id','features']", RECORD, {"id": "a1", "features": [1, 2]}),
        ("$['id', 'SageMakerOutput']", RECORD, {"id": "a1"}),  # absent keys are left out
        ("$['id']", RECORD, "a1"),
        ("$.field1.*", RECORD, ["x", "y", "z"]),
        ("$.field1.['child1','child2']", RECORD, {"child1": "x", "child2": "y"}),
        ("$.rows[*].id", RECORD, [1, 2]),
        ("$.rows[*].v[0]", RECORD, [7, 9]),
        ("$.rows[*].missing", RECORD, []),  # indefinite paths skip what does not match
        ("$['features','rows'][0]", RECORD, [1, {"id": 1, "v": [7, 8]}]),
    ],
)
def test_select(path: str, value: object, expected: object) -> None:
    assert parse_path(path).select(value) == expected


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("$[10]", TEN, "index 10 is out of range for an array of 10 elements"),
        ("$[-11]", TEN, "index -11 is out of range for an array of 10 elements"),
        ("$[0,12]", TEN, "index 12 is out of range"),
        ("$[*][0]", [[1], []], "index 0 is out of range for an array of 0 elements"),
        ("$.nope", RECORD, "no key 'nope' in an object"),
        ("$.id", TEN, "no key 'id' in an array"),
        ("$[0]", RECORD, "expected an array, found an object"),
        ("$['a','b']", TEN, "expected an object, found an array"),
    ],
)
def test_select_misses(path: str, value: object, message: str) -> None:
    with pytest.raises(NoMatch) as caught:
        parse_path(path).select(value)
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", 'A JsonPath must start with "$"'),
        ("features", 'A JsonPath must start with "$"'),
        ("$..id", 'Deep scan ("..") is not supported'),
        ("$.", 'Expected a name after "." at position 2'),
        ("$[?(@.a > 1)]", "Expected an index at position 2"),
        ("$[1:5:2]", "Slice steps are not supported"),
        ("$[1", 'Expected "]" at position 3'),
        ("$[]", "Expected an index at position 2"),
        ("$['a.b']", "Nested paths inside brackets are not supported ('a.b')"),
        ("$['a'", 'Expected "]" at position 5'),
        ("$['a]", "Unterminated quoted name at position 2"),
        ("$['']", "Empty name at position 2"),
        ("$['a',1]", "Expected a quoted name at position 6"),
        ("$[-]", "Expected an index at position 2"),
        ("$x", 'Unexpected "x" at position 1'),
        ("$.a b", 'Unexpected " " at position 3'),
    ],
)
def test_invalid_paths_name_the_expression(path: str, reason: str) -> None:
    with pytest.raises(InvalidPath) as caught:
        parse_path(path)
    assert caught.value.reason == reason
    assert caught.value.message == f'Invalid JsonPath "{path}": {reason}'


# --- create-time rules -------------------------------------------------------------------


def test_defaults_are_the_identity_whatever_the_formats() -> None:
    for spec in (None, {}, {"InputFilter": "$", "OutputFilter": "", "JoinSource": "None"}):
        made = Processing.from_request(spec, "application/x-image", None, "None", None)
        assert made.identity
        assert not made.filters_input
        assert not made.processes_output


def test_what_each_setting_turns_on() -> None:
    only_input = processing(InputFilter="$[1:]")
    assert (only_input.filters_input, only_input.processes_output) == (True, False)
    assert only_input.join_output(b"a,b", b"0.5") == b"0.5"
    joined = processing(JoinSource="Input")
    assert (joined.filters_input, joined.processes_output) == (False, True)
    assert processing(InputFilter="$", OutputFilter="$[0]").processes_output
    assert not processing(InputFilter="$", OutputFilter="$[0]").filters_input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"split_type": "None"},
            'SplitType must be "Line" when ContentType is "text/csv" and DataProcessing '
            "filters or joins records",
        ),
        (
            {"assemble_with": None},
            'AssembleWith must be "Line" when Accept is "text/csv" and DataProcessing '
            "filters or joins records",
        ),
        (
            {"content_type": "application/x-recordio-protobuf"},
            'ContentType is "application/x-recordio-protobuf": to filter or join records '
            "with DataProcessing, ContentType and Accept must each be one of text/csv, "
            "application/json, application/jsonlines",
        ),
        (
            {"accept": None, "content_type": None},
            "ContentType is not set: to filter or join records with DataProcessing, ContentType "
            "and Accept must each be one of text/csv, application/json, application/jsonlines",
        ),
    ],
)
def test_format_rules(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidDataProcessing) as caught:
        processing(**kwargs, JoinSource="Input")
    assert caught.value.message == message


def test_without_accept_the_answer_is_read_as_the_request_format() -> None:
    # The SDK's transformer leaves Accept unset unless asked: filters still work.
    joined = processing(accept=None, JoinSource="Input", OutputFilter="$[0,-1]")
    assert joined.join_output(b"7,1.5,2", b"0.25") == b"7,0.25"


def test_sagemakers_character_check_and_wording() -> None:
    # The message SageMaker answered in aws/aws-sdk#184, word for word.
    with pytest.raises(InvalidDataProcessing) as caught:
        processing(
            "application/jsonlines",
            "application/jsonlines",
            OutputFilter="$['account_id','SageMakerOutput']",
        )
    assert caught.value.message == (
        "Invalid OutputFilter: \"$['account_id','SageMakerOutput']\". Unexpected \"_\" in "
        "JsonPath. Supported operators for \"application/jsonlines\" are ['$', '[', ']', "
        "'*', '.', ' ', ',', ':', '-', ''']"
    )
    # CSV rows are arrays: only index paths, so names are refused for text/csv.
    with pytest.raises(InvalidDataProcessing) as caught:
        processing(InputFilter="$.features")
    assert caught.value.message == (
        'Invalid InputFilter: "$.features". Unexpected "." in JsonPath. Supported operators '
        "for \"text/csv\" are ['$', '[', ']', '*', ' ', ',', ':', '-']"
    )
    assert isinstance(caught.value, ProcessingError)


def test_grammar_errors_name_the_field_and_expression() -> None:
    with pytest.raises(InvalidDataProcessing) as caught:
        processing("application/json", "application/json", InputFilter="$..features")
    assert (
        caught.value.message
        == 'Invalid InputFilter: "$..features". Deep scan ("..") is not supported'
    )
    with pytest.raises(InvalidDataProcessing) as caught:
        processing(OutputFilter="$[1:2:3]")
    assert caught.value.message == 'Invalid OutputFilter: "$[1:2:3]". Slice steps are not supported'
    with pytest.raises(InvalidDataProcessing) as caught:
        processing(JoinSource="Output")
    assert caught.value.message == 'Invalid JoinSource "Output": it must be "Input" or "None"'


def test_media_type_parameters_and_case_are_ignored() -> None:
    made = processing("Text/CSV; charset=utf-8", "text/csv;header=absent", InputFilter="$[1:]")
    assert made.filter_input(b"id,1") == b"1"


# --- CSV ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "record", "expected"),
    [
        ("$[1:]", b'id7,1.50,"a,b",x', b'1.50,"a,b",x'),
        ("$[0,-1]", b"id7,1.50,2e3,0.0", b"id7,0.0"),
        ("$[0]", b"id7,1.50", b"id7"),
        ("$[1:2]", b"a,00012, 3.0 ,x", b"00012, 3.0 "),  # numbers and spaces untouched
        ("$[0]", b'"say ""hi""",2', b'"say ""hi"""'),
        ("$[0]", b'"plain",2', b'"plain"'),  # needless quotes are kept too
        ("$[0]", b'ab"c,1', b'ab"c'),  # a bare quote is taken as text
        ("$[1:]", b",,3", b",3"),
        ("$[-1]", b"1,2,", b""),
        ("$[0]", "é,1".encode(), "é".encode()),
        ("$[5:]", b"1,2", b""),
    ],
)
def test_csv_input_filter_keeps_fields_exactly(path: str, record: bytes, expected: bytes) -> None:
    assert processing(InputFilter=path).filter_input(record) == expected


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        (b'"abc,1', "unterminated quoted field at column 1"),
        (b'1,"a"b,2', 'unexpected "b" after a quoted field'),
    ],
)
def test_malformed_csv_fails_the_record(record: bytes, detail: str) -> None:
    with pytest.raises(ProcessingError) as caught:
        processing(InputFilter="$[0]").filter_input(record)
    assert caught.value.message == f"Failed to parse input as CSV: {detail}"


def test_csv_input_filter_out_of_range() -> None:
    with pytest.raises(ProcessingError) as caught:
        processing(InputFilter="$[0,3]").filter_input(b"a,b,c")
    assert caught.value.message == (
        'InputFilter "$[0,3]" failed on a record: index 3 is out of range for an array of '
        "3 elements"
    )


def test_csv_join_appends_output_columns_to_the_original_input() -> None:
    made = processing(JoinSource="Input")
    assert made.join_output(b"1,2,3", b"1") == b"1,2,3,1"  # the DG's example
    assert made.join_output(b'x,"a,b",1.50', b"0.1,0.9") == b'x,"a,b",1.50,0.1,0.9'


def test_csv_dg_example_drop_id_then_keep_id_and_prediction() -> None:
    made = processing(InputFilter="$[1:]", JoinSource="Input", OutputFilter="$[0,-1]")
    record = b"id7,0.5,1.50,3"
    assert made.filter_input(record) == b"0.5,1.50,3"
    assert made.join_output(record, b"0.875") == b"id7,0.875"


def test_csv_output_filter_without_join_and_out_of_range() -> None:
    assert processing(OutputFilter="$[1]").join_output(b"ignored", b"a,b") == b"b"
    made = processing(JoinSource="Input", OutputFilter="$[0,9]")
    with pytest.raises(ProcessingError) as caught:
        made.join_output(b"1,2", b"3")
    assert caught.value.message == (
        'OutputFilter "$[0,9]" failed on a record: index 9 is out of range for an array of '
        "3 elements"
    )
    with pytest.raises(ProcessingError) as caught:
        made.join_output(b"1,2", b'"3')
    assert caught.value.message == (
        "Failed to parse output from the algorithm as CSV: unterminated quoted field at column 1"
    )


# --- JSON and JSON Lines -----------------------------------------------------------------


def test_json_input_filter_keeps_numbers_as_written() -> None:
    made = processing(
        "application/json", "application/json", "None", "None", InputFilter="$.features"
    )
    record = b'{"id": 1, "features": [1.50, 2e3, -0.0, 10, 1E-7], "x": null}'
    assert made.filter_input(record) == b"[1.50,2e3,-0.0,10,1E-7]"


def test_jsonlines_input_filter_several_keys() -> None:
    made = processing("application/jsonlines", "application/jsonlines", InputFilter="$['b','a']")
    record = '{"a": "é", "b": [true, null], "c": 1}'.encode()
    # In the order the path names them, as Jayway builds the merged object.
    assert made.filter_input(record) == '{"b":[true,null],"a":"é"}'.encode()


def test_json_dg_example_features_in_id_and_output_out() -> None:
    made = processing(
        "application/jsonlines",
        "application/jsonlines",
        InputFilter="$.features",
        JoinSource="Input",
        OutputFilter="$['id','SageMakerOutput']",
    )
    record = b'{"id": "a1", "features": [1, 2.50], "other": true}'
    assert made.filter_input(record) == b"[1,2.50]"
    assert (
        made.join_output(record, b'{"score": 0.25}')
        == b'{"id":"a1","SageMakerOutput":{"score":0.25}}'
    )


@pytest.mark.parametrize(
    ("record", "output", "expected"),
    [
        (b'{"key":1}', b'{"label":1}', b'{"key":1,"SageMakerOutput":{"label":1}}'),  # the DG's
        (
            b'{"SageMakerOutput":0,"a":1}',
            b"[0.5]",
            b'{"SageMakerOutput":[0.5],"a":1}',  # the reserved key is overwritten in place
        ),
        (b"[1, 2.0]", b"0.5", b'{"SageMakerInput":[1,2.0],"SageMakerOutput":0.5}'),
        (b'"text"', b'{"a":[]}', b'{"SageMakerInput":"text","SageMakerOutput":{"a":[]}}'),
        (b"null", b"NaN", b'{"SageMakerInput":null,"SageMakerOutput":NaN}'),
        # Numbers Python would write otherwise, on either side of the join, stay as written.
        (b'{"a": 1.50}', b'{"s": 0.5}', b'{"a":1.50,"SageMakerOutput":{"s":0.5}}'),
        (b'{"a": 0.5}', b"[1e3, -0.0]", b'{"a":0.5,"SageMakerOutput":[1e3,-0.0]}'),
        (b'{"a": 1e400}', b"2", b'{"a":1e400,"SageMakerOutput":2}'),
    ],
)
def test_json_join(record: bytes, output: bytes, expected: bytes) -> None:
    made = processing("application/json", "application/json", "Line", "Line", JoinSource="Input")
    assert made.join_output(record, output) == expected


def test_json_output_filter_miss_and_bad_output() -> None:
    made = processing("application/json", "application/json", OutputFilter="$.score")
    assert made.join_output(b"", b'{"score": 1.10}') == b"1.10"
    with pytest.raises(ProcessingError) as caught:
        made.join_output(b"", b'{"label": 1}')
    assert caught.value.message == (
        "OutputFilter \"$.score\" failed on a record: no key 'score' in an object"
    )
    with pytest.raises(ProcessingError) as caught:
        made.join_output(b"", b'{"label": ')
    assert caught.value.message.startswith("Failed to parse output from the algorithm as JSON: ")
    with pytest.raises(ProcessingError) as caught:
        made.join_output(b"", b"\xff")
    assert caught.value.message.startswith("Failed to parse output from the algorithm: not UTF-8")


# --- mixed formats -----------------------------------------------------------------------


def test_csv_input_joined_to_a_json_answer_is_wrapped_with_string_fields() -> None:
    made = processing("text/csv", "application/jsonlines", "Line", "Line", JoinSource="Input")
    assert made.join_output(b'1,2.50,"a,b"', b'{"score":1}') == (
        b'{"SageMakerInput":["1","2.50","a,b"],"SageMakerOutput":{"score":1}}'
    )


def test_json_array_input_joined_to_a_csv_answer() -> None:
    made = processing("application/jsonlines", "text/csv", "Line", "Line", JoinSource="Input")
    assert made.join_output(b'[1, "a,b", 2.50, null, [1, 2]]', b"0.5") == (
        b'1,"a,b",2.50,,"[1,2]",0.5'
    )
    with pytest.raises(ProcessingError) as caught:
        made.join_output(b'{"a": 1}', b"0.5")
    assert caught.value.message == (
        "A CSV output can be joined only to an input record that is an array (a CSV row or a "
        "JSON array), not a JSON object"
    )
    filtered = processing(
        "application/jsonlines", "text/csv", "Line", "Line", JoinSource="Input", OutputFilter="$[0]"
    )
    with pytest.raises(ProcessingError) as caught:
        filtered.join_output(b'[{"a": 1}]', b"0.5")
    assert caught.value.message == 'A JSON object cannot be written as a CSV row: {"a":1}'


# --- splitting a response per record ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "accept", "count", "expected"),
    [
        (b"0.1\n0.2\n0.3\n", "text/csv", 3, [b"0.1", b"0.2", b"0.3"]),
        (b"0.1\r\n0.2\r\n", "text/csv; charset=utf-8", 2, [b"0.1", b"0.2"]),
        (b"0.1,0.9\n0.2,0.8", "text/csv", 2, [b"0.1,0.9", b"0.2,0.8"]),
        (b"0.1,0.9", "text/csv", 1, [b"0.1,0.9"]),
        (b"", "text/csv", 1, [b""]),
        (b'{"a":1}\n{"a":2}\n', "application/jsonlines", 2, [b'{"a":1}', b'{"a":2}']),
        (
            b'{"predictions": [{"score": 0.10}, {"score": 0.2}]}',
            "application/json",
            2,
            [b'{"score":0.10}', b'{"score":0.2}'],
        ),
        (b"[[1, 2], [3.50, 4]]", "application/json", 2, [b"[1,2]", b"[3.50,4]"]),
        (b'{"a": 1}\n[2]\n', "application/json", 2, [b'{"a": 1}', b"[2]"]),
        (
            b'{"predictions": [{"score": 0.1}]}\n',
            "application/json",
            1,
            [b'{"predictions": [{"score": 0.1}]}'],  # one record: the whole answer
        ),
    ],
)
def test_split_output(body: bytes, accept: str, count: int, expected: list[bytes]) -> None:
    assert split_output(body, accept, count) == expected


@pytest.mark.parametrize(
    ("body", "accept", "count", "message"),
    [
        (b"0.1\n0.2\n", "text/csv", 3, "The algorithm returned 2 records for the 3 records sent"),
        (b"0.1\n\n0.2\n", "text/csv", 2, "The algorithm returned 3 records for the 2 records sent"),
        (
            b"{}\n",
            "application/jsonlines",
            2,
            "The algorithm returned 1 records for the 2 records sent",
        ),
        (
            b'{"predictions": [1]}',
            "application/json",
            2,
            "The algorithm returned 1 records for the 2 records sent",
        ),
        (
            b'{"scores": [1, 2]}',
            "application/json",
            2,
            "The algorithm returned a JSON object for the 2 records sent; expected a JSON array, "
            'or an object with a "predictions" array, of one element per record',
        ),
        (
            b"\x00\x01",
            "application/x-recordio-protobuf",
            1,
            'Cannot split a "application/x-recordio-protobuf" response into records: '
            "DataProcessing supports text/csv, application/json, application/jsonlines",
        ),
    ],
)
def test_split_output_mismatch(body: bytes, accept: str, count: int, message: str) -> None:
    with pytest.raises(ProcessingError) as caught:
        split_output(body, accept, count)
    assert caught.value.message == message


# --- a file end to end, as the job runs it -------------------------------------------------


def test_csv_file_through_filter_model_split_and_join() -> None:
    made = processing(InputFilter="$[1:]", JoinSource="Input", OutputFilter="$[0,-1]")
    records = [b"r1,1,2.50", b'r2,"3",4', b"r3,0,0"]
    payload = b"\n".join(made.filter_input(r) for r in records) + b"\n"
    assert payload == b'1,2.50\n"3",4\n0,0\n'

    def model(body: bytes) -> bytes:  # a sum per line, each line ended, as in batch mode
        sums = [
            sum(float(f.strip('"')) for f in line.split(",")) for line in body.decode().splitlines()
        ]
        return "".join(f"{total}\n" for total in sums).encode()

    outputs = split_output(model(payload), "text/csv", len(records))
    joined = b"".join(made.join_output(r, o) + b"\n" for r, o in zip(records, outputs, strict=True))
    assert joined == b"r1,3.5\nr2,7.0\nr3,0.0\n"
