// Loads a CloudFormation/SAM YAML template into the JSON form (`!Ref X` → {Ref: X},
// `!GetAtt A.B` → {"Fn::GetAtt": [A, B]}, `!Sub s` → {"Fn::Sub": s}, ...), with the `yaml`
// package's custom tags: the short forms are not YAML any standard schema knows.

import * as fs from 'node:fs';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const SHORT_FORMS = [
  'Ref',
  'Condition',
  'Sub',
  'GetAtt',
  'If',
  'Not',
  'Equals',
  'And',
  'Or',
  'Join',
  'Select',
  'Split',
  'FindInMap',
  'Base64',
  'Cidr',
  'GetAZs',
  'ImportValue',
  'Transform',
  'Length',
  'ToJsonString',
] as const;

function longForm(name: string): string {
  return name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
}

function tags(): (ScalarTag | CollectionTag)[] {
  return SHORT_FORMS.flatMap((name): (ScalarTag | CollectionTag)[] => {
    const key = longForm(name);
    return [
      {
        tag: `!${name}`,
        resolve: (value: string): Json => ({ [key]: name === 'GetAtt' ? value.split('.') : value }),
      },
      {
        tag: `!${name}`,
        collection: 'seq',
        resolve: (seq: YAMLSeq.Parsed | YAMLMap.Parsed): Json => ({ [key]: seq.toJSON() as Json }),
      },
      {
        tag: `!${name}`,
        collection: 'map',
        resolve: (map: YAMLSeq.Parsed | YAMLMap.Parsed): Json => ({ [key]: map.toJSON() as Json }),
      },
    ];
  });
}

export function loadCfnYaml(file: string): JsonObject {
  return parse(fs.readFileSync(file, 'utf8'), { customTags: tags(), maxAliasCount: -1 }) as JsonObject;
}
