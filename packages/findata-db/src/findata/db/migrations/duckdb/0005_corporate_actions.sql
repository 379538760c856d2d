-- Corporate actions: splits and cash dividends per symbol, keyed by (symbol, ex_date).
--
-- Keyed by the symbol's name, not symbols.symbol_id: actions may arrive before a
-- symbol's first bar (a symbols row needs a time zone and a kind of bars). Every
-- write of actions bumps data_version, so ETags and caches follow (ADR 0071).
-- A 4-for-1 split is split_from = 1, split_to = 4; a 1-for-10 reverse split 10, 1.

CREATE TABLE splits (
    symbol     VARCHAR NOT NULL,
    ex_date    DATE NOT NULL,
    split_from DOUBLE NOT NULL CHECK (split_from > 0 AND isfinite(split_from)),
    split_to   DOUBLE NOT NULL CHECK (split_to > 0 AND isfinite(split_to)),
    PRIMARY KEY (symbol, ex_date)
);

CREATE TABLE dividends (
    symbol      VARCHAR NOT NULL,
    ex_date     DATE NOT NULL,
    cash_amount DOUBLE NOT NULL CHECK (cash_amount > 0 AND isfinite(cash_amount)),
    currency    VARCHAR CHECK (regexp_full_match(currency, '[A-Z]{3}')),
    pay_date    DATE,
    record_date DATE,
    PRIMARY KEY (symbol, ex_date)
);
