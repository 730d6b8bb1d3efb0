from pathlib import Path

from shelfwise.index import BM25Index, Tokenizer


def test_tokenizer_english_and_chinese() -> None:
    tok = Tokenizer()
    assert tok("The Black Trousers!") == ["black", "trouser"]
    zh = tok("黑色休闲裤")
    assert zh and all(len(t) >= 1 for t in zh) and "".join(zh).find("黑色") >= 0
    assert Tokenizer(chinese="bigram")("黑色裤") == ["黑色", "色裤"]
    assert tok("ＢＬＡＣＫ") == ["black"]  # full-width folded


def test_bm25_retrieve_mask_and_roundtrip(tmp_path: Path) -> None:
    docs = ["black slim trousers", "blue jeans", "black leather belt", "黑色休闲裤 男士"]
    idx = BM25Index().fit(docs)
    r = idx.retrieve("black trousers", 3)
    assert r.ids[0] == 0 and set(r.ids.tolist()) == {0, 2}
    import numpy as np

    mask = np.array([False, True, True, True])
    assert idx.retrieve("black trousers", 3, mask).ids.tolist() == [2]
    assert idx.retrieve("黑色裤子", 2).ids.tolist() == [3]
    assert len(idx.retrieve("zebra", 3)) == 0
    idx.save(tmp_path / "bm25")
    again = BM25Index.load(tmp_path / "bm25")
    assert np.allclose(again.scores("black belt"), idx.scores("black belt"))


def test_last_query_scores_memoised_read_only() -> None:
    idx = BM25Index().fit(["black slim trousers", "blue jeans"])
    a = idx.scores("black")
    assert idx.scores("black") is a and not a.flags.writeable
    b = idx.scores("jeans")
    assert b is not a and b[1] > 0 and b[0] == 0


def test_corpus_without_any_term_scores_zero_and_saves(tmp_path: Path) -> None:
    import numpy as np

    from shelfwise.index import CharNgrams, LexicalIndex

    chars = BM25Index(tokenizer=CharNgrams(3)).fit(["键盘 机械", "无线鼠标"])  # no Latin text to cut
    assert chars.scores("keyboard").tolist() == [0.0, 0.0]
    chars.save(tmp_path / "chars")
    assert BM25Index.load(tmp_path / "chars").scores("keyboard").tolist() == [0.0, 0.0]
    assert BM25Index().fit(["the", "of the"]).scores("the").tolist() == [0.0, 0.0]  # stop words only
    lex = LexicalIndex().fit(["键盘 机械", "无线鼠标"])  # a CJK-only catalog: its char part is empty
    assert lex.retrieve("鼠标", 2).ids.tolist() == [1]
    assert np.all(np.isfinite(lex.scores("mouse")))


def test_terms_and_one_terms_document_count() -> None:
    idx = BM25Index().fit(["手机壳 黑色", "手机 支架", "black phone"])
    terms = set(idx.terms())
    assert {"手机", "机壳", "手", "black"} <= terms and "机支" not in terms
    assert idx.term_doc_freq("手机") == 2 and idx.term_doc_freq("机壳") == 1
    assert idx.term_doc_freq("手机壳") == 0  # one term, not cut by the analyser (no trigram terms)
    assert idx.term_doc_freq("zebra") == 0


def test_taiwan_wording_in_mainland_words() -> None:
    from shelfwise.index.text import to_mainland, to_simplified, to_taiwan

    assert to_simplified("隨身碟") == "随身碟" and to_mainland("隨身碟") == "U盘"  # characters only vs the word
    assert to_mainland("無線滑鼠") == "无线鼠标" and to_mainland("螢幕") == "屏幕"
    assert to_mainland("保溫杯") == "保温杯"  # the same word on both sides: characters only
    assert to_taiwan("鼠标") == "滑鼠" and to_taiwan("U盘") == "隨身碟"
    # words tw2sp leaves as they are: the sourced TAIWAN_WORDS, longest first, inside longer runs too
    assert to_mainland("筆電") == "笔记本电脑" and to_mainland("小筆電") == "上网本"
    assert to_mainland("藍芽耳機") == "蓝牙耳机" and to_mainland("記憶卡") == "存储卡"
    assert to_mainland("電競筆電包") == "电竞笔记本电脑包"


def test_holding_gives_sorted_rows_as_a_copy_sorted_or_not_in_the_postings() -> None:
    import numpy as np

    docs = ["black dress", "red dress", "black belt", "dress shoes", "black dress long"]
    idx = BM25Index().fit(docs)
    got = idx.holding("dress")
    assert got.tolist() == [0, 1, 3, 4] and got.dtype == np.int64
    got[:] = 0  # a copy: the index is untouched
    assert idx.holding("dress").tolist() == [0, 1, 3, 4]
    scores, i = idx._model.scores, idx._model.vocab_dict["dress"]
    lo, hi = int(scores["indptr"][i]), int(scores["indptr"][i + 1])
    scores["indices"][lo:hi] = scores["indices"][lo:hi][::-1].copy()  # postings another build left unsorted
    scores["data"][lo:hi] = scores["data"][lo:hi][::-1].copy()
    assert idx.holding("dress").tolist() == [0, 1, 3, 4] and idx.holding("zebra").tolist() == []
