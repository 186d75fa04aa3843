"""A logger made while a test captured the output keeps working in the
tests after it (``tests/conftest.py: log_streams_outlive_the_test``); the
two tests run in this order."""
from mmengine.logging import MMLogger

NAME = 'densenas_mm_test_log_streams'


def test_a_logger_made_under_capsys(capsys):
    logger = MMLogger.get_instance(NAME, logger_name=NAME)
    logger.info('first')
    assert 'first' in capsys.readouterr().out


def test_it_logs_in_the_next_test_without_a_logging_error(capsys):
    logger = MMLogger.get_instance(NAME)
    assert logger.instance_name == NAME
    logger.info('second')
    out, err = capsys.readouterr()
    assert 'Logging error' not in err and 'closed file' not in err
    assert err.count('\n') == 0
