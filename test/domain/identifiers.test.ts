import { describe, expect, it } from 'vitest';
import {
  CONFIG_NAME_PATTERN,
  CONFIG_NAME_REGEXP,
  LABEL_KEY_PATTERN,
  LABEL_KEY_REGEXP,
  MAX_LABELS,
  MAX_LABEL_VALUE_LENGTH,
  MAX_MODULE_CLASS_ID_LENGTH,
  MODULE_CLASS_ID_PATTERN,
  MODULE_CLASS_ID_REGEXP,
  PYTHON_IDENTIFIER_PATTERN,
  PYTHON_IDENTIFIER_REGEXP,
  PYTHON_KEYWORDS,
  configNameProblem,
  labelKeyProblem,
  moduleClassIdProblem,
  pythonIdentifierProblem,
} from '../../src/domain/identifiers.js';

describe('patterns', () => {
  it('are the grammar of API.md', () => {
    expect(CONFIG_NAME_PATTERN).toBe('^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$');
    expect(MODULE_CLASS_ID_PATTERN).toBe('^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$');
    expect(PYTHON_IDENTIFIER_PATTERN).toBe('^[A-Za-z_][A-Za-z0-9_]*$');
    expect(LABEL_KEY_PATTERN).toBe('^[a-z][a-z0-9_.-]{0,62}$');
    expect([MAX_MODULE_CLASS_ID_LENGTH, MAX_LABELS, MAX_LABEL_VALUE_LENGTH]).toEqual([255, 64, 255]);
  });

  it('agree with the problem functions on grammar (keywords aside)', () => {
    const samples = [
      '', 'a', 'a.B', '_._', 'a..b', '.a', 'a.', '1a.b', 'a.1b', 'a.b-c', 'A.B.C', 'é.b', 'a b.c', 'resnet50-int8',
      'a-', '-a', 'a.b_c', 'team', 'Team', 'x'.repeat(63), 'x'.repeat(64), 'x'.repeat(128), 'x'.repeat(129),
    ];
    for (const s of samples) {
      expect(moduleClassIdProblem(s) === undefined, s).toBe(MODULE_CLASS_ID_REGEXP.test(s) && s.length <= 255);
      expect(pythonIdentifierProblem(s) === undefined, s).toBe(PYTHON_IDENTIFIER_REGEXP.test(s));
      expect(configNameProblem(s) === undefined, s).toBe(CONFIG_NAME_REGEXP.test(s));
      expect(labelKeyProblem(s) === undefined, s).toBe(LABEL_KEY_REGEXP.test(s));
    }
  });
});

describe('PYTHON_KEYWORDS', () => {
  it('is Python 3.11 keyword.kwlist, without the soft keywords', () => {
    expect(PYTHON_KEYWORDS.size).toBe(35);
    for (const k of ['True', 'False', 'None', 'class', 'async', 'await', 'nonlocal', 'lambda', 'yield']) {
      expect(PYTHON_KEYWORDS.has(k), k).toBe(true);
    }
    for (const soft of ['_', 'match', 'case', 'type', 'print', 'true', 'none']) {
      expect(PYTHON_KEYWORDS.has(soft), soft).toBe(false);
    }
  });
});

describe('moduleClassIdProblem', () => {
  it('accepts fully qualified ASCII paths, including soft keywords and _', () => {
    for (const id of ['torch.ao.nn.quantized.LSTM', 'a.B', '_._', 'pkg.match.case', 'my_pkg.type._Private', 'a'.repeat(253) + '.B']) {
      expect(moduleClassIdProblem(id), id).toBeUndefined();
    }
  });

  it('explains each kind of problem', () => {
    const twoSegments = "must be a fully qualified Python path like 'torch.ao.nn.quantized.LSTM' (at least two dot-separated segments)";
    expect(moduleClassIdProblem('LSTM')).toBe(twoSegments);
    expect(moduleClassIdProblem('')).toBe(twoSegments);
    expect(moduleClassIdProblem('a.class.B')).toBe("segment 'class' is a Python keyword");
    expect(moduleClassIdProblem('a.B.None')).toBe("segment 'None' is a Python keyword");
    expect(moduleClassIdProblem('import.B')).toBe("segment 'import' is a Python keyword");
    expect(moduleClassIdProblem('a.b.c.d.False')).toBe("segment 'False' is a Python keyword");
    expect(moduleClassIdProblem('a.B\n')).toBe("segment 'B\n' contains U+000A; only ASCII letters, digits and '_' are allowed");
    expect(moduleClassIdProblem(`a.${'B'.repeat(298)}`)).toBe('is 300 characters long; at most 255 are allowed');
    expect(moduleClassIdProblem('.a.B')).toBe("starts with '.'; dot-separated segments must not be empty");
    expect(moduleClassIdProblem('a.B.')).toBe("ends with '.'; dot-separated segments must not be empty");
    expect(moduleClassIdProblem('a..B')).toBe("contains '..'; dot-separated segments must not be empty");
    expect(moduleClassIdProblem('a.3d')).toBe("segment '3d' starts with a digit");
    expect(moduleClassIdProblem('my-pkg.B')).toBe("segment 'my-pkg' contains '-' (U+002D); only ASCII letters, digits and '_' are allowed");
    expect(moduleClassIdProblem('a.B\t')).toBe("segment 'B\t' contains U+0009; only ASCII letters, digits and '_' are allowed");
  });

  it('rejects unicode letters that Python itself would accept', () => {
    expect(moduleClassIdProblem('café.Model')).toBe("segment 'café' contains U+00E9; only ASCII letters, digits and '_' are allowed");
    expect(moduleClassIdProblem('a.Ｌ')).toBe("segment 'Ｌ' contains U+FF2C; only ASCII letters, digits and '_' are allowed");
  });
});

describe('pythonIdentifierProblem', () => {
  it('accepts ASCII identifiers, _ and soft keywords', () => {
    for (const name of ['attr1', '_', '__dunder__', 'match', 'case', 'type', 'A']) expect(pythonIdentifierProblem(name), name).toBeUndefined();
  });

  it('explains each kind of problem', () => {
    expect(pythonIdentifierProblem('')).toBe('is empty; a Python identifier is required');
    expect(pythonIdentifierProblem('for')).toBe("'for' is a Python keyword");
    expect(pythonIdentifierProblem('True')).toBe("'True' is a Python keyword");
    expect(pythonIdentifierProblem('x\n')).toBe("'x\n' contains U+000A; only ASCII letters, digits and '_' are allowed");
    expect(pythonIdentifierProblem('2x')).toBe("'2x' starts with a digit");
    expect(pythonIdentifierProblem('a.b')).toBe("'a.b' contains '.' (U+002E); only ASCII letters, digits and '_' are allowed");
    expect(pythonIdentifierProblem('naïve')).toBe("'naïve' contains U+00EF; only ASCII letters, digits and '_' are allowed");
    expect(pythonIdentifierProblem(`${'x'.repeat(100)}-`)).toBe(`'${'x'.repeat(61)}...' contains '-' (U+002D); only ASCII letters, digits and '_' are allowed`);
  });
});

describe('configNameProblem', () => {
  it('accepts the grammar', () => {
    for (const name of ['a', '0', 'resnet50-int8', 'a.b_c-d', 'x'.repeat(128)]) expect(configNameProblem(name), name).toBeUndefined();
  });

  it('explains each kind of problem', () => {
    expect(configNameProblem('')).toBe('is empty');
    expect(configNameProblem('x'.repeat(129))).toBe('is 129 characters long; at most 128 are allowed');
    expect(configNameProblem('ResNet')).toBe("contains upper-case 'R' (U+0052); config names are lower-case");
    expect(configNameProblem('a b')).toBe("contains U+0020; only a-z, 0-9, '.', '_' and '-' are allowed");
    expect(configNameProblem('a/b')).toBe("contains '/' (U+002F); only a-z, 0-9, '.', '_' and '-' are allowed");
    expect(configNameProblem('-a')).toBe('must start with a lower-case letter or a digit');
    expect(configNameProblem('a.')).toBe('must end with a lower-case letter or a digit');
  });
});

describe('labelKeyProblem', () => {
  it('accepts the grammar', () => {
    for (const key of ['team', 'a', 'owner.email', 'x-y_z', 'a'.repeat(63)]) expect(labelKeyProblem(key), key).toBeUndefined();
  });

  it('explains each kind of problem', () => {
    expect(labelKeyProblem('')).toBe('is empty');
    expect(labelKeyProblem('a'.repeat(64))).toBe('is 64 characters long; at most 63 are allowed');
    expect(labelKeyProblem('1team')).toBe('must start with a lower-case letter');
    expect(labelKeyProblem('_team')).toBe('must start with a lower-case letter');
    expect(labelKeyProblem('Team')).toBe("contains upper-case 'T' (U+0054); label keys are lower-case");
    expect(labelKeyProblem('team:x')).toBe("contains ':' (U+003A); only a-z, 0-9, '_', '.' and '-' are allowed");
  });
});
